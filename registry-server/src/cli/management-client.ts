// The command line's client of a running registry's management API: base URL, credentials and
// the CA to trust, from flags or the environment, over undici (which takes a CA per client).

import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { CommandError } from "./command-error.ts";

export interface ManagementTarget {
  /** https://registry.example:5443 */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** PEM CA bundle to trust in addition to the system's. */
  readonly caPem?: string;
}

export { CommandError };

/** Reads the connection flags shared by the commands that talk to a running registry. */
export function managementTarget(flags: {
  url?: string | undefined;
  username?: string | undefined;
  "password-file"?: string | undefined;
  "ca-file"?: string | undefined;
}): ManagementTarget {
  const url = flags.url ?? process.env["AIRLOCK_URL"];
  if (!url) throw new CommandError("--url (or AIRLOCK_URL) is required: the registry's https:// URL");
  const username = flags.username ?? process.env["AIRLOCK_USERNAME"] ?? "admin";
  let password = process.env["AIRLOCK_PASSWORD"];
  const passwordFile = flags["password-file"];
  if (passwordFile !== undefined) password = readText(passwordFile, "--password-file").replace(/\r?\n$/, "");
  if (!password) throw new CommandError("--password-file (or AIRLOCK_PASSWORD) is required");
  const caFile = flags["ca-file"];
  return {
    url: url.replace(/\/+$/, ""),
    username,
    password,
    ...(caFile !== undefined && { caPem: readText(caFile, "--ca-file") }),
  };
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new CommandError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
  }
}

export interface JsonReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export class ManagementClient {
  private readonly target: ManagementTarget;
  private readonly dispatcher: Agent;

  constructor(target: ManagementTarget) {
    this.target = target;
    this.dispatcher = new Agent({ connect: target.caPem ? { ca: target.caPem } : {} });
  }

  /** One JSON request under /api/v2.0. */
  async call(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<JsonReply> {
    const auth = Buffer.from(`${this.target.username}:${this.target.password}`).toString("base64");
    const reply = await request(`${this.target.url}/api/v2.0${path}`, {
      method,
      dispatcher: this.dispatcher,
      headers: {
        authorization: `Basic ${auth}`,
        accept: "application/json",
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await reply.body.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: reply.statusCode, headers: reply.headers, body: parsed };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** Harbor's error message from a reply, for the user. */
export function apiError(reply: JsonReply, what: string): CommandError {
  const first = (reply.body as { errors?: Array<{ code?: string; message?: string }> } | undefined)?.errors?.[0];
  return new CommandError(`${what}: ${first ? `${first.code}: ${first.message}` : `HTTP ${reply.status}`}`);
}
