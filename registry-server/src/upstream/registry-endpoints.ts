// Registry endpoints as the rest of the server uses them: stored records turned into
// UpstreamEndpoints with their secret opened, and secrets sealed on the way in. The proxy cache
// asks here for the endpoint of a project's `registry_id`; the API and the health checks too.

import type { SecretBox } from "../auth/secret-box.ts";
import type { RegistryMetadata, RegistryRecord, StoredCredential } from "../metadata/registry-store.ts";
import { UPSTREAM_TYPES, type UpstreamEndpoint, type UpstreamType } from "./upstream-registry.ts";

/** Additional authenticated data of sealed registry secrets: they open for this use only. */
const PURPOSE = "airlock registry endpoint credential";

export function isUpstreamType(value: string): value is UpstreamType {
  return (UPSTREAM_TYPES as readonly string[]).includes(value);
}

export class RegistryEndpoints {
  private readonly store: RegistryMetadata;
  private readonly box: SecretBox;

  constructor(store: RegistryMetadata, box: SecretBox) {
    this.store = store;
    this.box = box;
  }

  /** The endpoint with its secret in clear, or undefined when there is none with this id. */
  async get(id: number): Promise<UpstreamEndpoint | undefined> {
    const record = await this.store.get(id);
    return record && this.toEndpoint(record);
  }

  toEndpoint(record: RegistryRecord): UpstreamEndpoint {
    if (!isUpstreamType(record.type)) throw new Error(`registry endpoint ${record.id} has unknown type ${record.type}`);
    const credential = record.credential;
    return {
      id: record.id,
      name: record.name,
      type: record.type,
      url: record.url,
      insecure: record.insecure,
      ...(credential && {
        credential: {
          type: credential.type,
          accessKey: credential.accessKey,
          accessSecret: this.box.open(credential.sealedSecret, PURPOSE),
        },
      }),
      ...(record.caCertificate !== undefined && { caCertificate: record.caCertificate }),
    };
  }

  seal(credential: { type: "basic" | "oauth"; accessKey: string; accessSecret: string }): StoredCredential {
    return {
      type: credential.type,
      accessKey: credential.accessKey,
      sealedSecret: this.box.seal(credential.accessSecret, PURPOSE),
    };
  }

  /** The secret in clear, to keep it when an update leaves it unchanged. */
  openSecret(credential: StoredCredential): string {
    return this.box.open(credential.sealedSecret, PURPOSE);
  }
}
