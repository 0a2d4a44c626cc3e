// The few calls of Harbor's management API (`/api/v2.0`) that replication to and from a Harbor
// makes, as Harbor's own harbor adapter makes them (src/pkg/reg/adapter/harbor): projects and
// their repositories listed page by page (`Link: rel="next"`) instead of `/v2/_catalog`, which
// Harbor keeps to system administrators; a project created before the first push into it
// (Harbor's PrepareForPush; a push to a missing project is refused); and a tag deleted alone,
// which `/v2` cannot do there. The API takes the credential as HTTP basic auth, with no
// challenge to learn from, so it is sent up front.

import type { CredentialSource } from "./authorized-requester.ts";
import { basicAuthorization } from "./bearer-tokens.ts";
import { discard, readBody, type HttpMethod, type HttpTransport, type TransportResponse } from "./http-transport.ts";
import { failureOf, header } from "./registry-requests.ts";
import { nextPage } from "./tag-pagination.ts";
import { describeRequest, transportFailure } from "./upstream-failures.ts";
import { UpstreamError } from "./upstream-registry.ts";

const PAGE_SIZE = 100;
const MAX_PAGES = 1_000;
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

export class HarborApi {
  private readonly transport: HttpTransport;
  private readonly credentials: CredentialSource;
  private readonly baseUrl: string;
  /** Projects known to exist, so that each is checked once. */
  private readonly projects = new Set<string>();

  constructor(transport: HttpTransport, credentials: CredentialSource, baseUrl: string) {
    this.transport = transport;
    this.credentials = credentials;
    this.baseUrl = baseUrl;
  }

  /** Names of the projects the credential can see. */
  async projectNames(limit: number, signal?: AbortSignal): Promise<string[]> {
    return this.listNames("/projects", limit, signal);
  }

  /** Full names ("project/repository") of a project's repositories; [] when it does not exist. */
  async repositories(project: string, limit: number, signal?: AbortSignal): Promise<string[]> {
    return this.listNames(`/projects/${encodeURIComponent(project)}/repositories`, limit, signal);
  }

  /** Creates the repository's project (private) unless it exists, as Harbor does before a push. */
  async ensureProject(repository: string, signal?: AbortSignal): Promise<void> {
    const project = repository.split("/")[0] ?? "";
    if (project === "" || project === repository || this.projects.has(project)) return;
    const head = await this.send("HEAD", `/projects?project_name=${encodeURIComponent(project)}`, undefined, signal);
    await discard(head.response);
    if (head.response.statusCode === 404) {
      const body = JSON.stringify({ project_name: project, metadata: { public: "false" } });
      const created = await this.send("POST", "/projects", body, signal);
      // 409: created meanwhile by someone else, which is as good.
      if (created.response.statusCode !== 201 && created.response.statusCode !== 409) {
        throw await failureOf(created.response, created.where);
      }
      await discard(created.response);
    } else if (head.response.statusCode !== 200) {
      throw await failureOf(head.response, head.where);
    }
    this.projects.add(project);
  }

  /** Deletes one tag, the artifact staying; false when there was no such tag. */
  async deleteTag(repository: string, tag: string, signal?: AbortSignal): Promise<boolean> {
    const slash = repository.indexOf("/");
    if (slash < 0) throw new UpstreamError("protocol", `${repository}: Harbor's repositories are project/name`);
    const project = encodeURIComponent(repository.slice(0, slash));
    // Harbor's clients encode the name twice (a/b → a%252Fb), as its router expects.
    const name = encodeURIComponent(encodeURIComponent(repository.slice(slash + 1)));
    const reference = encodeURIComponent(tag);
    const path = `/projects/${project}/repositories/${name}/artifacts/${reference}/tags/${reference}`;
    const { response, where } = await this.send("DELETE", path, undefined, signal);
    if (response.statusCode === 404) {
      await discard(response);
      return false;
    }
    if (response.statusCode !== 200) throw await failureOf(response, where);
    await discard(response);
    return true;
  }

  private async listNames(path: string, limit: number, signal?: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    let url: URL | undefined = new URL(`${this.baseUrl}/api/v2.0${path}?page=1&page_size=${PAGE_SIZE}`);
    for (let page = 0; url && names.length < limit && page < MAX_PAGES; page++) {
      const { response, where } = await this.sendUrl("GET", url, undefined, signal);
      if (response.statusCode === 404 && page === 0) {
        await discard(response);
        return [];
      }
      if (response.statusCode !== 200) throw await failureOf(response, where);
      for (const item of await readJsonArray(response, where, signal)) {
        const value = (item as { name?: unknown } | null)?.name;
        if (typeof value === "string") names.push(value);
      }
      url = nextPage(header(response, "link"), url, where);
    }
    return names.slice(0, limit);
  }

  private send(
    method: HttpMethod,
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ response: TransportResponse; where: string }> {
    return this.sendUrl(method, new URL(`${this.baseUrl}/api/v2.0${path}`), body, signal);
  }

  private async sendUrl(
    method: HttpMethod,
    url: URL,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ response: TransportResponse; where: string }> {
    const credential = await this.credentials(signal);
    const response = await this.transport.send(url, {
      method,
      headers: {
        Accept: "application/json",
        "User-Agent": "airlock-registry",
        ...(body !== undefined && { "Content-Type": "application/json" }),
        ...(credential && { Authorization: basicAuthorization(credential) }),
      },
      ...(body !== undefined && { body }),
      ...(signal && { signal }),
    });
    return { response, where: describeRequest(method, url) };
  }
}

async function readJsonArray(response: TransportResponse, where: string, signal?: AbortSignal): Promise<unknown[]> {
  let body: Buffer | "too-large";
  try {
    body = await readBody(response.body, MAX_PAGE_BYTES);
  } catch (err) {
    throw transportFailure(err, where, signal);
  }
  if (body === "too-large") throw new UpstreamError("protocol", `${where}: answer too large`);
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new UpstreamError("protocol", `${where}: answer is not JSON`);
  }
  if (!Array.isArray(json)) throw new UpstreamError("protocol", `${where}: answer is not a list`);
  return json as unknown[];
}
