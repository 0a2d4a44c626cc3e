// A small client of the Harbor-compatible management API (/api/v2.0) for the contract tests,
// over fetch with bounded waits, plus the set-up steps the suites share (users, projects,
// members, robots created by the administrator).

import { expect } from "vitest";
import { ADMIN } from "../helpers.ts";

export interface Credentials {
  username: string;
  password: string;
}

export interface ApiReply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; undefined when empty. */
  json: unknown;
}

/** Every request gives up after this long, so a hung server fails the test instead of stalling it. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Harbor's time format: RFC 3339 (with milliseconds, as Go's time.Time marshals it here). */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

export function basic(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

export class HarborClient {
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  /**
   * A request to `path` (under /api/v2.0 unless it starts with "/v2" or "/service"), as `auth`
   * (the administrator by default; null for anonymous).
   */
  async call(
    method: string,
    path: string,
    options: { auth?: Credentials | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiReply> {
    const auth = options.auth === undefined ? ADMIN : options.auth;
    const headers: Record<string, string> = { ...options.headers };
    if (auth) headers["Authorization"] = basic(auth);
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["Content-Type"] ??= "application/json";
    }
    const raw = path.startsWith("/v2") || path.startsWith("/service");
    const response = await fetch(`${this.base}${raw ? "" : "/api/v2.0"}${path}`, {
      method,
      headers,
      ...(body !== undefined && { body }),
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let json: unknown;
    if (text !== "") {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  get(path: string, auth?: Credentials | null, headers?: Record<string, string>): Promise<ApiReply> {
    return this.call("GET", path, { ...(auth !== undefined && { auth }), ...(headers && { headers }) });
  }

  /** Creates a user as the administrator; returns its id (from `Location`). */
  async createUser(username: string, password: string, extra: Record<string, unknown> = {}): Promise<number> {
    const reply = await this.call("POST", "/users", {
      body: { username, password, email: `${username}@example.com`, realname: username, ...extra },
    });
    expect(reply.status, reply.text).toBe(201);
    return idFromLocation(reply, "/api/v2.0/users/");
  }

  /** Creates a project (as the administrator unless told); returns its id. */
  async createProject(name: string, isPublic: boolean, auth: Credentials = ADMIN): Promise<number> {
    const reply = await this.call("POST", "/projects", {
      auth,
      body: { project_name: name, metadata: { public: String(isPublic) } },
    });
    expect(reply.status, reply.text).toBe(201);
    return idFromLocation(reply, "/api/v2.0/projects/");
  }

  /** Adds a user to a project with a role, as the administrator; returns the member id. */
  async addMember(project: string | number, username: string, roleId: number): Promise<number> {
    const reply = await this.call("POST", `/projects/${project}/members`, {
      body: { role_id: roleId, member_user: { username } },
    });
    expect(reply.status, reply.text).toBe(201);
    return idFromLocation(reply, `/members/`);
  }

  /** Creates a robot as the administrator; returns its creation body. */
  async createRobot(body: Record<string, unknown>, auth: Credentials = ADMIN): Promise<RobotCreated> {
    const reply = await this.call("POST", "/robots", { auth, body });
    expect(reply.status, reply.text).toBe(201);
    return reply.json as RobotCreated;
  }
}

export interface RobotCreated {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

/** The numeric id at the end of a 201's `Location`, checking the path before it. */
export function idFromLocation(reply: ApiReply, pathPrefix: string): number {
  const location = reply.headers.get("location") ?? "";
  const match = /\/(\d+)$/.exec(location);
  expect(location).toContain(pathPrefix);
  expect(match, `Location ${location}`).not.toBeNull();
  return Number(match?.[1]);
}

/** Asserts Harbor's error JSON `{"errors":[{"code","message"}]}` with this status and code. */
export function expectError(reply: ApiReply, status: number, code: string, message?: RegExp): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  const body = reply.json as { errors?: Array<{ code?: unknown; message?: unknown }> };
  expect(Array.isArray(body.errors)).toBe(true);
  expect(body.errors).toHaveLength(1);
  const [error] = body.errors ?? [];
  expect(error?.code).toBe(code);
  expect(typeof error?.message).toBe("string");
  if (message) expect(error?.message).toMatch(message);
}

/** Asserts a 201 with an empty body and a `Location`, as most Harbor creations answer. */
export function expectCreatedEmpty(reply: ApiReply, pathPrefix: string): number {
  expect(reply.status, reply.text).toBe(201);
  expect(reply.text).toBe("");
  return idFromLocation(reply, pathPrefix);
}

/** A project-level permission list for a project robot. */
export function projectPermissions(
  project: string,
  actions: ReadonlyArray<readonly [resource: string, action: string]>,
): Array<Record<string, unknown>> {
  return [{ kind: "project", namespace: project, access: actions.map(([resource, action]) => ({ resource, action })) }];
}

/** The links of a `Link` header by relation: { next: "/api/v2.0/…?page=2&page_size=1" }. */
export function links(reply: ApiReply): Record<string, string> {
  const header = reply.headers.get("link");
  const result: Record<string, string> = {};
  if (!header) return result;
  for (const part of header.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="([^"]+)"/.exec(part);
    if (match?.[1] && match[2]) result[match[2]] = match[1];
  }
  return result;
}
