// The typed client the dynamic providers use to manage a registry through its Harbor-compatible
// API. Plain functions over Node's https, no dependencies: dynamic providers are serialised into
// the stack state, and this module is serialised with them (see components/README.md).

/** Where the registry is and how to authenticate; passed to every resource as a secret input. */
export interface RegistryConnection {
  /** Base URL, e.g. https://localhost:5443. */
  url: string;
  /** User the resources act as, normally the admin. */
  username: string;
  /** That user's password. */
  password: string;
  /** PEM CA certificate(s) to trust for the registry's TLS certificate. */
  caPem?: string;
}

export interface ApiReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * An API failure with the registry's HTTP status. A plain Error with a `status` property, not a
 * subclass: providers are serialised, and a serialised Error subclass loses Error's prototype,
 * which the engine then reports as "Unknown Error" instead of the message.
 */
export type RegistryApiError = Error & { status: number };

export function registryApiError(message: string, status: number): RegistryApiError {
  return Object.assign(new Error(message), { status });
}

const REQUEST_TIMEOUT_MS = 30_000;

/** One request to /api/v2.0; the reply's JSON body is parsed. Network errors reject. */
export function apiRequest(
  connection: RegistryConnection,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiReply> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded at run time by the provider
  const { request } = require(
    connection.url.startsWith("https:") ? "node:https" : "node:http",
  ) as typeof import("node:https");
  const target = new URL(`/api/v2.0${path}`, connection.url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const authorization = `Basic ${Buffer.from(`${connection.username}:${connection.password}`).toString("base64")}`;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method,
        headers: {
          ...headers,
          Authorization: authorization,
          Accept: "application/json",
          ...(payload && { "Content-Type": "application/json", "Content-Length": payload.length }),
        },
        ...(connection.caPem && { ca: connection.caPem }),
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text ? (JSON.parse(text) as unknown) : undefined;
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${method} ${target.pathname}: no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** The error Harbor's JSON carries, for messages. */
export function errorMessage(reply: ApiReply): string {
  const errors = (reply.body as { errors?: Array<{ code?: string; message?: string }> } | undefined)?.errors;
  const first = errors?.[0];
  return first ? `${first.code ?? "ERROR"}: ${first.message ?? ""}` : `HTTP ${reply.status}`;
}

/** Rejects unless the reply has one of the expected statuses. */
export function expectStatus(reply: ApiReply, what: string, ...statuses: number[]): ApiReply {
  if (!statuses.includes(reply.status)) throw registryApiError(`${what} failed: ${errorMessage(reply)}`, reply.status);
  return reply;
}

/** The id at the end of a 201's Location header. */
export function createdId(reply: ApiReply, what: string): number {
  const location = reply.headers["location"];
  const id = Number(
    String(Array.isArray(location) ? location[0] : location)
      .split("/")
      .pop(),
  );
  if (!Number.isInteger(id) || id <= 0) throw registryApiError(`${what}: no id in the Location header`, reply.status);
  return id;
}

/**
 * `read` hands back the inputs that match what it found, so that refresh records drift in them;
 * the SDK types that field as the outputs, hence this one cast.
 */
export function readInputs<Outputs>(inputs: object): Outputs {
  return inputs as Outputs;
}

/** JSON with object keys sorted: values that went through the engine compare by content, not key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
