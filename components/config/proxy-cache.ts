// `airlock:upstream`, `airlock:mirror`, `airlock:registries` and `airlock:proxyProjects`: the
// proxy cache, its egress and its upstream endpoints.

import { z } from "zod";
import { REGISTRY_ENDPOINT_TYPES } from "../registry/registry-endpoint";
import { HARBOR_PROXY_EXPIRY_DAYS, MAX_RETENTION_DAYS } from "../registry/retention-policy";
import { memberSchema, robotSchema } from "./registry-content";
import { projectName } from "./schema-parts";
import { projectSecurityShape, refineProjectSecurity } from "./security";

export const upstreamSchema = z.strictObject({
  /** The corporate proxy for http:// upstreams. */
  httpProxy: z.url().optional(),
  /** The corporate proxy for https:// upstreams (CONNECT tunnels). */
  httpsProxy: z.url().optional(),
  /** Hosts reached directly: comma-separated names, .domains, IPs or CIDRs. */
  noProxy: z.string().optional(),
  timeoutSeconds: z.number().int().min(1).max(600).optional(),
  healthCheckIntervalSeconds: z.number().int().min(10).max(86_400).optional(),
});

export const mirrorSchema = z.strictObject({
  /** Proxy-cache project for pulls without a project prefix (Docker's registry-mirrors). */
  defaultProject: projectName.optional(),
  /** containerd's `ns` (a registry host) → proxy-cache project. */
  namespaces: z.record(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "expected a registry host"), projectName).default({}),
  /** Host name the request arrives on → proxy-cache project. */
  hosts: z.record(z.string().regex(/^[a-z0-9.:-]+$/, "expected a host name"), projectName).default({}),
});

export const registrySchema = z.strictObject({
  name: projectName,
  type: z.enum(REGISTRY_ENDPOINT_TYPES),
  url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }),
  description: z.string().max(1024).default(""),
  /** Set the secret with `pulumi config set --secret --path 'airlock:registries[0].credential.accessSecret' …`. */
  credential: z.strictObject({ accessKey: z.string().min(1), accessSecret: z.string().min(1) }).optional(),
  /** Bump to send the credential again after it was changed outside Pulumi. */
  credentialVersion: z.number().int().min(0).default(0),
  insecure: z.boolean().default(false),
  /** PEM CA certificate(s) of a private upstream. */
  caCertificate: z
    .string()
    .includes("-----BEGIN CERTIFICATE-----", { error: "expected PEM certificate(s)" })
    .optional(),
});

export const proxyProjectSchema = z
  .strictObject({
    name: projectName,
    /** The `name` of the entry of airlock:registries this project pulls through. */
    registry: projectName,
    public: z.boolean().default(false),
    /** Bandwidth towards the upstream, kilobits per second; -1 for no limit. */
    speedKbps: z.number().int().min(-1).default(-1),
    /** Concurrent upstream requests; -1 for no limit. */
    maxUpstreamConnections: z.number().int().min(-1).default(-1),
    storageLimit: z.number().int().min(-1).default(-1),
    /**
     * Cached artifacts not pulled for this many days are removed (daily), tagged or not; preheated
     * images are pinned and stay. Harbor's default: 7.
     */
    expiryDays: z.number().int().min(1).max(MAX_RETENTION_DAYS).default(HARBOR_PROXY_EXPIRY_DAYS),
    /** Images kept present in the cache, fetched at `pulumi up`. */
    preheat: z
      .strictObject({
        images: z.array(z.string().min(1)).min(1),
        platforms: z
          .array(z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, "expected os/architecture"))
          .default([]),
      })
      .optional(),
    members: z.array(memberSchema).default([]),
    robots: z.array(robotSchema).default([]),
    /** The security gate, as a project's: `autoScan` scans what the cache fetches. */
    ...projectSecurityShape,
  })
  .superRefine((project, ctx) => refineProjectSecurity(project, ctx));
