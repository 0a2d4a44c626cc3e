// Amazon ECR's own API (JSON 1.1 over a SigV4-signed POST, `X-Amz-Target` naming the action),
// for what the registry API does not do there: the registry password (GetAuthorizationToken,
// ecr-credentials.ts), a repository created before the first push into it (CreateRepository,
// Harbor's PrepareForPush for ECR), and images deleted by tag or digest (BatchDeleteImage, as
// Harbor's ECR adapter deletes). AWS's refusals (`__type`) are sorted into UpstreamError kinds.

import { signAwsRequest, type AwsCredentials } from "../http/aws-sigv4.ts";
import { discard, readBody, type HttpTransport } from "./http-transport.ts";
import { describeRequest, statusFailure, transportFailure } from "./upstream-failures.ts";
import { UpstreamError } from "./upstream-registry.ts";

const TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921.";
const MAX_RESPONSE_BYTES = 1024 * 1024;

export function ecrApiUrl(region: string): string {
  return `https://api.ecr.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}/`;
}

export interface EcrApiOptions {
  readonly region: string;
  /** The API's URL; ECR's regional API by default (tests point it at loopback). */
  readonly apiUrl?: string;
  readonly now?: () => number;
}

/** A refusal by the API, with AWS's error type ("RepositoryAlreadyExistsException"). */
export class EcrApiError extends UpstreamError {
  readonly awsType: string;
  constructor(failure: UpstreamError, awsType: string) {
    super(failure.kind, failure.message, {
      ...(failure.status !== undefined && { status: failure.status }),
      ...(failure.retryAfterSeconds !== undefined && { retryAfterSeconds: failure.retryAfterSeconds }),
    });
    this.awsType = awsType;
  }
}

export class EcrApi {
  private readonly transport: HttpTransport;
  private readonly aws: AwsCredentials;
  private readonly options: EcrApiOptions;
  /** Repositories known to exist, so that each is created at most once. */
  private readonly repositories = new Set<string>();

  constructor(transport: HttpTransport, aws: AwsCredentials, options: EcrApiOptions) {
    this.transport = transport;
    this.aws = aws;
    this.options = options;
  }

  /** Calls `action` with a JSON body; its JSON answer, or an EcrApiError. */
  async call(action: string, payload: unknown, signal?: AbortSignal): Promise<unknown> {
    const now = (this.options.now ?? Date.now)();
    const url = new URL(this.options.apiUrl ?? ecrApiUrl(this.options.region));
    const where = `ECR ${action} ${describeRequest("POST", url)}`;
    const body = JSON.stringify(payload);
    const headers = { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `${TARGET_PREFIX}${action}` };
    const signed = signAwsRequest(
      { method: "POST", url, headers, body },
      this.aws,
      this.options.region,
      "ecr",
      new Date(now),
    );
    const response = await this.transport.send(url, {
      method: "POST",
      headers: { ...headers, ...signed },
      body,
      ...(signal && { signal }),
    });
    let text: string;
    try {
      const read = await readBody(response.body, MAX_RESPONSE_BYTES);
      if (read === "too-large") throw new UpstreamError("protocol", `${where}: answer too large`);
      text = read.toString("utf8");
    } catch (err) {
      await discard(response);
      throw transportFailure(err, where, signal);
    }
    if (response.statusCode !== 200) throw ecrFailure(response.statusCode, response.headers, text, where);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UpstreamError("protocol", `${where}: answer is not JSON`);
    }
  }

  /** Creates the repository unless it exists. */
  async ensureRepository(repository: string, signal?: AbortSignal): Promise<void> {
    if (this.repositories.has(repository)) return;
    try {
      await this.call("CreateRepository", { repositoryName: repository }, signal);
    } catch (err) {
      if (!(err instanceof EcrApiError && err.awsType === "RepositoryAlreadyExistsException")) throw err;
    }
    this.repositories.add(repository);
  }

  /**
   * Deletes an image by tag (the tag alone; the image goes with its last tag) or by digest (the
   * image and its tags); false when there was no such image or tag.
   */
  async deleteImage(
    repository: string,
    image: { readonly imageTag: string } | { readonly imageDigest: string },
    signal?: AbortSignal,
  ): Promise<boolean> {
    let answer: unknown;
    try {
      answer = await this.call("BatchDeleteImage", { repositoryName: repository, imageIds: [image] }, signal);
    } catch (err) {
      if (err instanceof EcrApiError && err.awsType === "RepositoryNotFoundException") return false;
      throw err;
    }
    const { imageIds, failures } = (answer ?? {}) as { imageIds?: unknown; failures?: unknown };
    if (Array.isArray(imageIds) && imageIds.length > 0) return true;
    const failure = (Array.isArray(failures) ? failures[0] : undefined) as
      { failureCode?: unknown; failureReason?: unknown } | undefined;
    if (failure === undefined || failure.failureCode === "ImageNotFound") return false;
    const reason = typeof failure.failureReason === "string" ? ` ${failure.failureReason}` : "";
    throw new UpstreamError("protocol", `ECR BatchDeleteImage ${repository}: ${String(failure.failureCode)}${reason}`);
  }
}

/** AWS answers most refusals with 400 and a `__type`: sort them into our kinds. */
function ecrFailure(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  where: string,
): EcrApiError {
  let type = "";
  try {
    const value = (JSON.parse(text) as { __type?: unknown }).__type;
    if (typeof value === "string") type = value;
  } catch {
    // Not JSON: the status says enough.
  }
  const name = type.split("#").pop() ?? "";
  if (/Throttl|TooManyRequests|LimitExceeded/.test(name)) {
    return new EcrApiError(new UpstreamError("rate-limited", `${where}: ${name}`, { status }), name);
  }
  if (
    /UnrecognizedClient|InvalidSignature|AccessDenied|SignatureDoesNotMatch|ExpiredToken|InvalidClientToken/.test(name)
  ) {
    return new EcrApiError(new UpstreamError("unauthorized", `${where}: ${name}`, { status }), name);
  }
  return new EcrApiError(statusFailure(status, headers, name ? `${where} (${name})` : where), name);
}
