// How the registry is published through ingress-nginx: TLS at the controller with the registry's
// certificate, HTTPS again to the pods (verified against the generated CA when there is one), no
// limit on the body size and long timeouts (a layer can be gigabytes), streaming both ways
// instead of buffering whole layers on the controller's disk, and the admitted source ranges
// derived from the zones. Pure functions; the component creates the Ingress.

import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

const NGINX = "nginx.ingress.kubernetes.io";

export interface IngressAnnotationSettings {
  /** Seconds one request may take to send or receive. */
  timeoutSeconds: number;
  /** Source CIDRs admitted; none admits anyone. */
  sourceRanges: string[];
  /**
   * Verify the pods' certificate: the `namespace/secret` holding `ca.crt`, and the name the
   * certificate carries. Left out when the CA is not known (an existing Secret without one).
   */
  verifyBackend?: { caSecret: string; serverName: string };
  /** Annotations of the user's, over the computed ones. */
  extra: Record<string, string>;
}

/** The ingress-nginx annotations for a registry. */
export function ingressAnnotations(settings: IngressAnnotationSettings): Record<string, string> {
  const timeout = String(settings.timeoutSeconds);
  return {
    [`${NGINX}/backend-protocol`]: "HTTPS",
    [`${NGINX}/ssl-redirect`]: "true",
    // "0": no limit; nginx's default of 1m would refuse every layer push.
    [`${NGINX}/proxy-body-size`]: "0",
    [`${NGINX}/proxy-read-timeout`]: timeout,
    [`${NGINX}/proxy-send-timeout`]: timeout,
    // Stream pushes and pulls instead of spooling each layer to the controller's disk first.
    [`${NGINX}/proxy-request-buffering`]: "off",
    [`${NGINX}/proxy-buffering`]: "off",
    ...(settings.sourceRanges.length > 0 && {
      [`${NGINX}/whitelist-source-range`]: settings.sourceRanges.join(","),
    }),
    ...(settings.verifyBackend && {
      [`${NGINX}/proxy-ssl-verify`]: "on",
      [`${NGINX}/proxy-ssl-secret`]: settings.verifyBackend.caSecret,
      [`${NGINX}/proxy-ssl-name`]: settings.verifyBackend.serverName,
      [`${NGINX}/proxy-ssl-server-name`]: "on",
    }),
    ...settings.extra,
  };
}

export interface IngressSpecSettings {
  host: string;
  className: string;
  tlsSecretName: pulumi.Input<string>;
  serviceName: pulumi.Input<string>;
  servicePort: number;
}

/** One host, every path to the registry's Service, TLS with the registry's Secret. */
export function ingressSpec(settings: IngressSpecSettings): k8s.types.input.networking.v1.IngressSpec {
  return {
    ingressClassName: settings.className,
    tls: [{ hosts: [settings.host], secretName: settings.tlsSecretName }],
    rules: [
      {
        host: settings.host,
        http: {
          paths: [
            {
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: settings.serviceName, port: { number: settings.servicePort } } },
            },
          ],
        },
      },
    ],
  };
}
