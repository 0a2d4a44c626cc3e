// Contract tests of Harbor's pluggable scanners API (/api/v2.0/scanners…, /projects/{p}/scanner)
// against Harbor's ScannerRegistration, ScannerRegistrationReq, ScannerRegistrationSettings and
// ScannerAdapterMetadata, with a real adapter written in the test (fake-scanner-adapter.ts) on
// 127.0.0.1, and a built-in scanner handed to a second server.

import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScannerAdapter } from "../../src/scan/scanner-adapter.ts";
import { startTestRegistry, type TestRegistry } from "../helpers.ts";
import { freePort } from "../upstream/distribution-server.ts";
import { FAKE_METADATA, FakeScannerAdapter } from "../scan/fake-scanner-adapter.ts";
import {
  expectError,
  HarborClient,
  links,
  projectPermissions,
  RFC3339,
  type ApiReply,
  type Credentials,
} from "./harbor-client.ts";

interface ScannerJson {
  uuid: string;
  name: string;
  description: string;
  url: string;
  disabled: boolean;
  is_default: boolean;
  auth: string;
  access_credential: string;
  skip_certVerify: boolean;
  use_internal_addr: boolean;
  create_time: string;
  update_time: string;
  adapter?: string;
  vendor?: string;
  version?: string;
  health?: string;
  capabilities?: Record<string, boolean>;
}

const SECRET = "Scanner-Token-Very-Distinctive-77";
const USER: Credentials = { username: "scan-user", password: "Scan-user-password1" };
const DEVELOPER: Credentials = { username: "scan-dev", password: "Scan-dev-password1" };

function uuidFromLocation(reply: ApiReply): string {
  expect(reply.status, reply.text).toBe(201);
  expect(reply.text).toBe("");
  const location = reply.headers.get("location") ?? "";
  const match = /^\/api\/v2\.0\/scanners\/([0-9a-f-]{36})$/.exec(location);
  expect(match, `Location ${location}`).not.toBeNull();
  return match?.[1] ?? "";
}

describe("Harbor scanners API", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  const adapter = new FakeScannerAdapter();
  const other = new FakeScannerAdapter();
  let deadUrl: string;

  const body = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name,
    url: adapter.url,
    description: `${name} adapter`,
    auth: "Bearer",
    access_credential: SECRET,
    ...extra,
  });

  async function create(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    return uuidFromLocation(await api.call("POST", "/scanners", { body: body(name, extra) }));
  }

  async function get(uuid: string): Promise<ScannerJson> {
    const reply = await api.get(`/scanners/${uuid}`);
    expect(reply.status, reply.text).toBe(200);
    return reply.json as ScannerJson;
  }

  beforeAll(async () => {
    await adapter.start();
    await other.start();
    adapter.requiredHeader = { name: "authorization", value: `Bearer ${SECRET}` };
    registry = await startTestRegistry();
    api = new HarborClient(registry.url);
    await api.createUser(USER.username, USER.password);
    await api.createUser(DEVELOPER.username, DEVELOPER.password);
    deadUrl = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    await registry?.stop();
    await adapter.stop();
    await other.stop();
  });

  it("registers an adapter after pinging it with its credential: 201, Location, the first is the default", async () => {
    adapter.requests.length = 0;
    const uuid = await create("first");
    expect(adapter.requests).toHaveLength(1);
    expect(adapter.requests[0]).toMatchObject({ method: "GET", path: "/api/v1/metadata" });
    expect(adapter.requests[0]?.headers["accept"]).toBe("application/vnd.scanner.adapter.metadata+json; version=1.0");
    expect(adapter.requests[0]?.headers["authorization"]).toBe(`Bearer ${SECRET}`);
    const json = await get(uuid);
    expect(json).toMatchObject({
      uuid,
      name: "first",
      description: "first adapter",
      url: adapter.url,
      disabled: false,
      is_default: true,
      auth: "Bearer",
      access_credential: "",
      skip_certVerify: false,
      use_internal_addr: false,
      adapter: "Fake",
      vendor: "Airlock tests",
      version: "1.2.3",
      health: "healthy",
      capabilities: { support_vulnerability: true, support_sbom: true },
    });
    expect(json.create_time).toMatch(RFC3339);
    expect(json.update_time).toMatch(RFC3339);
    // The second one is not the default.
    const second = await create("second", { url: `${adapter.url}/second`, use_internal_addr: true });
    expect(await get(second)).toMatchObject({ is_default: false, use_internal_addr: true });
  });

  it("never returns, logs or stores in clear the access credential", async () => {
    const list = await api.get("/scanners?page_size=0");
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(SECRET);
    expect(registry.logs.join("\n")).not.toContain(SECRET);
    const metadataDir = path.join(registry.dataDir, "metadata");
    const bytes = Buffer.concat(readdirSync(metadataDir).map((file) => readFileSync(path.join(metadataDir, file))));
    expect(bytes.includes(SECRET)).toBe(false);
    expect(bytes.includes("first adapter")).toBe(true);
  });

  it("refuses a taken name (409), a reserved one, a bad URL, a scheme without credential, a dead adapter", async () => {
    expectError(
      await api.call("POST", "/scanners", { body: body("first", { url: `${adapter.url}/x` }) }),
      409,
      "CONFLICT",
    );
    expectError(
      await api.call("POST", "/scanners", { body: body("other", { url: adapter.url }) }),
      409,
      "CONFLICT",
      /url/,
    );
    expectError(await api.call("POST", "/scanners", { body: body("Trivy") }), 400, "BAD_REQUEST", /reserved/);
    expectError(
      await api.call("POST", "/scanners", { body: body("x", { url: "ftp://a.example" }) }),
      400,
      "BAD_REQUEST",
      /url/,
    );
    expectError(
      await api.call("POST", "/scanners", { body: body("x", { url: "builtin://trivy" }) }),
      400,
      "BAD_REQUEST",
      /url/,
    );
    expectError(
      await api.call("POST", "/scanners", { body: body("x", { access_credential: "" }) }),
      400,
      "BAD_REQUEST",
      /access_credential is required/,
    );
    expectError(
      await api.call("POST", "/scanners", { body: body("x", { access_credential: "a\r\nX-Injected: 1" }) }),
      400,
      "BAD_REQUEST",
    );
    expectError(await api.call("POST", "/scanners", { body: { url: adapter.url } }), 400, "BAD_REQUEST", /name/);
    expectError(
      await api.call("POST", "/scanners", { body: body("dead", { url: deadUrl }) }),
      400,
      "BAD_REQUEST",
      /failed to ping the scanner adapter \(unreachable/,
    );
    const names = ((await api.get("/scanners?page_size=0")).json as ScannerJson[]).map((s) => s.name);
    expect(names).not.toContain("dead");
    expect(names).not.toContain("x");
  });

  it("lists the default first, then the newest, with paging, q and Harbor's older parameters", async () => {
    await create("third-clair", { url: `${adapter.url}/clair`, description: "Clair adapter" });
    const all = await api.get("/scanners");
    expect(all.status).toBe(200);
    expect(all.headers.get("x-total-count")).toBe("3");
    expect((all.json as ScannerJson[]).map((s) => s.name)).toEqual(["first", "third-clair", "second"]);
    const page = await api.get("/scanners?page=1&page_size=2");
    expect((page.json as ScannerJson[]).map((s) => s.name)).toEqual(["first", "third-clair"]);
    expect(links(page)).toEqual({ next: "/api/v2.0/scanners?page=2&page_size=2" });
    const fuzzy = await api.get(`/scanners?q=${encodeURIComponent("description=~CLAIR")}`);
    expect((fuzzy.json as ScannerJson[]).map((s) => s.name)).toEqual(["third-clair"]);
    expect((await api.get("/scanners?name=ir")).headers.get("x-total-count")).toBe("2");
    expect((await api.get("/scanners?ex_name=fir")).headers.get("x-total-count")).toBe("0");
    expect(
      (await api.get(`/scanners?ex_url=${encodeURIComponent(`${adapter.url}/clair`)}`)).headers.get("x-total-count"),
    ).toBe("1");
  });

  it("replaces a registration with PUT, keeping the credential when it is left empty", async () => {
    const uuid = await create("editable", { url: `${adapter.url}/edit` });
    const reply = await api.call("PUT", `/scanners/${uuid}`, {
      body: {
        name: "edited",
        url: `${adapter.url}/edit`,
        auth: "Bearer",
        access_credential: "",
        skip_certVerify: true,
      },
    });
    expect(reply.status, reply.text).toBe(200);
    const edited = await get(uuid);
    expect(edited).toMatchObject({ name: "edited", description: "", skip_certVerify: true, auth: "Bearer" });
    // The kept credential still opens the adapter.
    expect(edited.health).toBe("healthy");
    expectError(
      await api.call("PUT", `/scanners/${uuid}`, { body: { name: "first", url: `${adapter.url}/edit` } }),
      409,
      "CONFLICT",
    );
    // As Harbor: a scheme changed with the credential left empty keeps the stored one; a scheme
    // set where none was stored needs its credential.
    const open = uuidFromLocation(
      await api.call("POST", "/scanners", { body: { name: "open", url: `${other.url}/open` } }),
    );
    expectError(
      await api.call("PUT", `/scanners/${open}`, { body: { name: "open", url: `${other.url}/open`, auth: "Basic" } }),
      400,
      "BAD_REQUEST",
      /access_credential/,
    );
    expect((await api.call("DELETE", `/scanners/${open}`)).status).toBe(200);
    expectError(
      await api.call("PUT", "/scanners/no-such-uuid", { body: { name: "n", url: adapter.url } }),
      404,
      "NOT_FOUND",
    );
  });

  it("moves the default with PATCH, never to a disabled registration, and never disables the default", async () => {
    const list = (await api.get("/scanners?page_size=0")).json as ScannerJson[];
    const first = list.find((s) => s.name === "first");
    const second = list.find((s) => s.name === "second");
    expect((await api.call("PATCH", `/scanners/${second?.uuid}`, { body: { is_default: true } })).status).toBe(200);
    expect((await get(second?.uuid ?? "")).is_default).toBe(true);
    expect((await get(first?.uuid ?? "")).is_default).toBe(false);
    expectError(
      await api.call("PUT", `/scanners/${second?.uuid}`, {
        body: { name: "second", url: `${adapter.url}/second`, disabled: true, auth: "Bearer" },
      }),
      400,
      "BAD_REQUEST",
      /default/,
    );
    const off = await create("off", { url: `${adapter.url}/off`, disabled: true });
    expectError(
      await api.call("PATCH", `/scanners/${off}`, { body: { is_default: true } }),
      400,
      "BAD_REQUEST",
      /disabled/,
    );
    // is_default false changes nothing, as in Harbor.
    expect((await api.call("PATCH", `/scanners/${second?.uuid}`, { body: { is_default: false } })).status).toBe(200);
    expect((await get(second?.uuid ?? "")).is_default).toBe(true);
    expect((await api.call("PATCH", `/scanners/${first?.uuid}`, { body: { is_default: true } })).status).toBe(200);
  });

  it("pings settings: 200 for a working adapter, 400 for a dead one or a refused credential", async () => {
    other.requests.length = 0;
    const good = await api.call("POST", "/scanners/ping", {
      body: { name: "p", url: other.url, auth: "X-ScannerAdapter-API-Key", access_credential: "key-1" },
    });
    expect(good.status, good.text).toBe(200);
    expect(other.requests[0]?.headers["x-scanneradapter-api-key"]).toBe("key-1");
    expectError(
      await api.call("POST", "/scanners/ping", { body: { name: "p", url: deadUrl } }),
      400,
      "BAD_REQUEST",
      /unreachable/,
    );
    expectError(
      await api.call("POST", "/scanners/ping", {
        body: { name: "p", url: adapter.url, auth: "Bearer", access_credential: "wrong" },
      }),
      400,
      "BAD_REQUEST",
      /unauthorized/,
    );
  });

  it("gives the adapter's metadata, and 500 with the reason when the adapter is gone", async () => {
    const list = (await api.get("/scanners?page_size=0")).json as ScannerJson[];
    const first = list.find((s) => s.name === "first");
    const reply = await api.get(`/scanners/${first?.uuid}/metadata`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toEqual({
      scanner: FAKE_METADATA.scanner,
      capabilities: FAKE_METADATA.capabilities,
      properties: FAKE_METADATA.properties,
    });
    // A registration whose adapter went away.
    const gone = new FakeScannerAdapter();
    await gone.start();
    const uuid = await create("short-lived", { url: gone.url, auth: "", access_credential: "" });
    await gone.stop();
    const failed = await api.get(`/scanners/${uuid}/metadata`);
    expectError(failed, 500, "INTERNAL_SERVER_ERROR", /short-lived.*unreachable/);
    expect((await get(uuid)).health).toBe("unhealthy");
    expectError(await api.get("/scanners/no-such-uuid/metadata"), 404, "NOT_FOUND");
  });

  it("deletes a registration, answering with it", async () => {
    const uuid = await create("to-delete", { url: `${adapter.url}/delete` });
    const reply = await api.call("DELETE", `/scanners/${uuid}`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ uuid, name: "to-delete", access_credential: "" });
    expectError(await api.get(`/scanners/${uuid}`), 404, "NOT_FOUND");
    expectError(await api.call("DELETE", `/scanners/${uuid}`), 404, "NOT_FOUND");
    expectError(await api.get("/scanners/%E0%A4%A"), 404, "NOT_FOUND");
  });

  it("is the administrator's: anonymous 401, a user 403, a system robot by its scanner permissions", async () => {
    expectError(await api.get("/scanners", null), 401, "UNAUTHORIZED");
    expectError(await api.get("/scanners", USER), 403, "FORBIDDEN");
    expectError(
      await api.call("POST", "/scanners", { auth: USER, body: body("mine", { url: other.url }) }),
      403,
      "FORBIDDEN",
    );
    expectError(
      await api.call("POST", "/scanners/ping", { auth: USER, body: { name: "p", url: other.url } }),
      403,
      "FORBIDDEN",
    );
    const robot = await api.createRobot({
      name: "scanner-reader",
      level: "system",
      duration: -1,
      permissions: [{ kind: "system", namespace: "/", access: [{ resource: "scanner", action: "list" }] }],
    });
    const robotAuth = { username: robot.name, password: robot.secret };
    expect((await api.get("/scanners", robotAuth)).status).toBe(200);
    expectError(
      await api.call("POST", "/scanners", { auth: robotAuth, body: body("robot-made", { url: other.url }) }),
      403,
      "FORBIDDEN",
    );
  });

  it("keeps a project's scanner: the default until chosen, then the choice, for members to read", async () => {
    const projectId = await api.createProject("scanned", false);
    await api.addMember("scanned", DEVELOPER.username, 2);
    const list = (await api.get("/scanners?page_size=0")).json as ScannerJson[];
    const defaultScanner = list.find((s) => s.is_default);
    const chosen = list.find((s) => s.name === "third-clair");
    const shown = await api.get("/projects/scanned/scanner", DEVELOPER);
    expect(shown.status, shown.text).toBe(200);
    expect(shown.json).toMatchObject({
      uuid: defaultScanner?.uuid,
      access_credential: "",
      capabilities: { support_vulnerability: true, support_sbom: true },
    });

    // Choosing is for project administrators.
    expectError(
      await api.call("PUT", "/projects/scanned/scanner", { auth: DEVELOPER, body: { uuid: chosen?.uuid } }),
      403,
      "FORBIDDEN",
    );
    expectError(await api.get("/projects/scanned/scanner/candidates", DEVELOPER), 403, "FORBIDDEN");
    expectError(await api.get("/projects/scanned/scanner", USER), 403, "FORBIDDEN");
    expectError(await api.get("/projects/scanned/scanner", null), 401, "UNAUTHORIZED");
    expectError(
      await api.call("PUT", "/projects/scanned/scanner", { body: { uuid: "no-such-uuid" } }),
      404,
      "NOT_FOUND",
    );
    expect((await api.call("PUT", `/projects/${projectId}/scanner`, { body: { uuid: chosen?.uuid } })).status).toBe(
      200,
    );
    expect(((await api.get("/projects/scanned/scanner", DEVELOPER)).json as ScannerJson).uuid).toBe(chosen?.uuid);

    const candidates = await api.get("/projects/scanned/scanner/candidates?page_size=2");
    expect(candidates.status).toBe(200);
    expect(candidates.headers.get("x-total-count")).toBe(String(list.length));
    expect(candidates.json).toHaveLength(2);

    // A project robot by its permissions: reading with scanner read, choosing only with create.
    const robot = await api.createRobot({
      name: "scanned-reader",
      level: "project",
      duration: -1,
      permissions: projectPermissions("scanned", [["scanner", "read"]]),
    });
    const robotAuth = { username: robot.name, password: robot.secret };
    expect(((await api.get("/projects/scanned/scanner", robotAuth)).json as ScannerJson).uuid).toBe(chosen?.uuid);
    expectError(
      await api.call("PUT", "/projects/scanned/scanner", { auth: robotAuth, body: { uuid: chosen?.uuid } }),
      403,
      "FORBIDDEN",
    );

    // Kept as Harbor keeps it: a metadata entry that /projects does not show and /metadatas does.
    const project = (await api.get("/projects/scanned")).json as { metadata: Record<string, string> };
    expect(project.metadata).toEqual({ public: "false" });
    const metadatas = (await api.get("/projects/scanned/metadatas")).json as Record<string, string>;
    expect(metadatas["projectScanner"]).toBe(chosen?.uuid);
    // Not settable through the project's metadata.
    expectError(
      await api.call("POST", "/projects/scanned/metadatas", { body: { projectScanner: list[0]?.uuid } }),
      400,
      "BAD_REQUEST",
    );

    // The chosen registration deleted: the default again.
    expect((await api.call("DELETE", `/scanners/${chosen?.uuid}`)).status).toBe(200);
    expect(((await api.get("/projects/scanned/scanner")).json as ScannerJson).uuid).toBe(defaultScanner?.uuid);
  });
});

describe("a built-in scanner", () => {
  let registry: TestRegistry;
  let api: HarborClient;
  const external = new FakeScannerAdapter();
  const calls: string[] = [];
  const builtin: ScannerAdapter = {
    metadata: async () => {
      calls.push("metadata");
      return { ...FAKE_METADATA, scanner: { name: "Trivy", vendor: "Aqua Security", version: "0.74.0" } };
    },
    scan: async () => "never",
    report: async () => ({ state: "failed", message: "not in this test" }),
  };

  beforeAll(async () => {
    await external.start();
    registry = await startTestRegistry(
      {},
      {
        builtinScanners: [
          { name: "Trivy", url: "builtin://trivy", description: "The built-in Trivy scanner", adapter: builtin },
        ],
      },
    );
    api = new HarborClient(registry.url);
  });
  afterAll(async () => {
    await registry?.stop();
    await external.stop();
  });

  it("is registered at start-up as the default, reached in-process", async () => {
    const list = await api.get("/scanners");
    expect(list.status).toBe(200);
    const [trivy] = list.json as ScannerJson[];
    expect(list.json).toHaveLength(1);
    expect(trivy).toMatchObject({
      name: "Trivy",
      url: "builtin://trivy",
      is_default: true,
      disabled: false,
      auth: "",
      adapter: "Trivy",
      vendor: "Aqua Security",
      version: "0.74.0",
      health: "healthy",
    });
    expect(calls).toContain("metadata");
  });

  it("cannot be deleted or changed, but may be disabled once another is the default", async () => {
    const [trivy] = (await api.get("/scanners")).json as ScannerJson[];
    const uuid = trivy?.uuid ?? "";
    expectError(await api.call("DELETE", `/scanners/${uuid}`), 403, "FORBIDDEN", /immutable/);
    const same = { name: "Trivy", url: "builtin://trivy", description: "The built-in Trivy scanner" };
    expectError(
      await api.call("PUT", `/scanners/${uuid}`, { body: { ...same, url: external.url } }),
      403,
      "FORBIDDEN",
      /immutable/,
    );
    expectError(await api.call("PUT", `/scanners/${uuid}`, { body: { ...same, disabled: true } }), 400, "BAD_REQUEST");
    const other = uuidFromLocation(
      await api.call("POST", "/scanners", { body: { name: "external", url: external.url } }),
    );
    expect((await api.call("PATCH", `/scanners/${other}`, { body: { is_default: true } })).status).toBe(200);
    expect((await api.call("PUT", `/scanners/${uuid}`, { body: { ...same, disabled: true } })).status).toBe(200);
    expect((await api.get(`/scanners/${uuid}`)).json).toMatchObject({ disabled: true, is_default: false });
    expect((await api.call("PUT", `/scanners/${uuid}`, { body: same })).status).toBe(200);
    expect((await api.call("PATCH", `/scanners/${uuid}`, { body: { is_default: true } })).status).toBe(200);
    expect((await api.get(`/scanners/${uuid}`)).json).toMatchObject({ disabled: false, is_default: true });
  });
});
