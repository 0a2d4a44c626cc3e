// The portal's one way to the registry: Harbor's /api/v2.0 with the browser's session cookie,
// the CSRF token the server hands out sent back on every change, and Harbor's error JSON turned
// into an ApiError with its status and message. Pages never call fetch themselves.

const CSRF_HEADER = "X-Harbor-CSRF-Token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** A refusal or failure in Harbor's terms: the status, the first error's code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** One page of a Harbor list, with the total the server counted (X-Total-Count). */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface ApiReply<T> {
  readonly data: T;
  readonly headers: Headers;
  readonly status: number;
}

let csrfToken: string | undefined;
const unauthorisedListeners = new Set<() => void>();

/** Called when the session ended under the user's feet (a 401): the portal asks them to sign in again. */
export function onUnauthorised(listener: () => void): () => void {
  unauthorisedListeners.add(listener);
  return () => unauthorisedListeners.delete(listener);
}

export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return `/api/v2.0${path}${search ? `?${search}` : ""}`;
}

/** Harbor's name segments in paths: repository names are encoded twice (a/b → a%252Fb). */
export function repositoryPath(repository: string): string {
  return encodeURIComponent(encodeURIComponent(repository));
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = body.errors?.[0];
    if (first) return new ApiError(response.status, first.code ?? "ERROR", first.message ?? response.statusText);
  } catch {
    // Not Harbor's JSON (a proxy's page): the status says enough.
  }
  return new ApiError(response.status, "ERROR", text.trim() || `HTTP ${response.status}`);
}

export async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; form?: URLSearchParams; raw?: boolean; signal?: AbortSignal } = {},
): Promise<ApiReply<T>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (UNSAFE.has(method) && csrfToken) headers[CSRF_HEADER] = csrfToken;
  let body: BodyInit | undefined;
  if (options.form) {
    body = options.form;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const url = options.raw ? path : apiUrl(path, options.query);
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    ...(body !== undefined && { body }),
    ...(options.signal && { signal: options.signal }),
  });
  const token = response.headers.get(CSRF_HEADER);
  if (token) csrfToken = token;
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !options.raw) unauthorisedListeners.forEach((listener) => listener());
    throw error;
  }
  const text = await response.text();
  const data = (text ? JSON.parse(text) : undefined) as T;
  return { data, headers: response.headers, status: response.status };
}

export async function get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
  return (await request<T>("GET", path, { ...(query && { query }), ...(signal && { signal }) })).data;
}

/** A page of a Harbor list: `page` from 1, `page_size` as Harbor caps it. */
export async function list<T>(path: string, query: Query, signal?: AbortSignal): Promise<Page<T>> {
  const reply = await request<T[] | null>("GET", path, { query, ...(signal && { signal }) });
  const items = reply.data ?? [];
  const total = Number(reply.headers.get("X-Total-Count") ?? items.length);
  return { items, total: Number.isFinite(total) ? total : items.length };
}

export function post<T = undefined>(path: string, body?: unknown): Promise<ApiReply<T>> {
  return request<T>("POST", path, { body });
}

export function put<T = undefined>(path: string, body?: unknown): Promise<ApiReply<T>> {
  return request<T>("PUT", path, { body });
}

export function patch<T = undefined>(path: string, body?: unknown): Promise<ApiReply<T>> {
  return request<T>("PATCH", path, { body });
}

export function del<T = undefined>(path: string): Promise<ApiReply<T>> {
  return request<T>("DELETE", path);
}

/** The id Harbor puts at the end of a 201's Location header. */
export function createdId(reply: ApiReply<unknown>): number | undefined {
  const id = Number(reply.headers.get("Location")?.split("/").pop());
  return Number.isInteger(id) && id > 0 ? id : undefined;
}

/** Harbor's sign-in (a form post to /c/login): the session cookie is set by the server, HttpOnly. */
export async function signIn(principal: string, password: string): Promise<void> {
  await request("POST", "/c/login", { raw: true, form: new URLSearchParams({ principal, password }) });
}

export async function signOut(): Promise<void> {
  await request("GET", "/c/log_out", { raw: true }).catch(() => undefined);
  csrfToken = undefined;
}

/** A text answer (a job's log), with the same session, CSRF and error handling as `request`. */
export async function getText(path: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(apiUrl(path), {
    headers: { Accept: "text/plain" },
    credentials: "same-origin",
    ...(signal && { signal }),
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) unauthorisedListeners.forEach((listener) => listener());
    throw error;
  }
  return response.text();
}
