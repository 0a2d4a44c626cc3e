// The pull gate: project policies that may refuse a manifest pull, as Harbor's middlewares on
// `GET` and `HEAD /v2/<name>/manifests/<reference>` do (content trust, vulnerability
// prevention). The route resolves the manifest first, then asks the gate, then sends the bytes.
//
// Each policy is a PullCheck; the gate runs those that apply to the project, in order, and the
// first refusal answers 412 PROJECTPOLICYVIOLATION with the check's message, as Harbor does.
// What Harbor lets through whatever the policies (its SkipPolicyChecking) is decided here, once:
//   - a caller holding `scanner-pull` on the repository: a scanner, or a robot given Harbor's
//     scanner-pull permission, and the system administrator (whose tokens carry every action);
//   - a pull of a signature itself (a cosign or Notation signature of an artifact of the
//     repository): verifiers must read signatures to check them. Stricter than Harbor, only a
//     manifest whose layers are all signature material counts: an image given a signature's
//     artifact type and a subject does not slip through.
// Checks that a caller's other rights may bypass (cosign's bootstrap pull before signing) decide
// that themselves, with what `PullCaller` tells them.

import type { IncomingMessage } from "node:http";
import { repositoryProject, SCANNER_PULL } from "../auth/access-scope.ts";
import { isSignature } from "../content/accessories.ts";
import type { StoredManifest } from "../content/manifest-service.ts";
import type { AccessGuard } from "../distribution/access-guard.ts";
import { RegistryError } from "../http/errors.ts";
import type { RequestContext } from "../http/router.ts";
import type { IdentityAreas, ProjectRecord } from "../metadata/identity-store.ts";
import type { ManifestRecord, MetadataStore } from "../metadata/metadata-store.ts";

/** Who pulls: what checks may ask about the caller, each answer computed only when asked. */
export interface PullCaller {
  /** The user or robot name, or "anonymous". */
  subject(): Promise<string>;
  /** Whether the caller may push to the repository. */
  canPush(): Promise<boolean>;
  /** The request's User-Agent ("" when absent). */
  readonly userAgent: string;
}

export interface PullInfo {
  readonly repository: string;
  readonly project: Pick<ProjectRecord, "id" | "name" | "metadata">;
  /** The manifest about to be sent: its digest, media type, artifact type, subject. */
  readonly manifest: ManifestRecord;
  readonly method: "GET" | "HEAD";
  readonly caller: PullCaller;
}

export interface PullRefusal {
  /** Harbor's message, sent as the error's message. */
  readonly message: string;
}

export interface PullCheck {
  /** For logs and tests: "cosign", "vulnerability"… */
  readonly name: string;
  /** Whether the project's metadata asks for this check at all (cheap; no I/O). */
  applies(metadata: Readonly<Record<string, string>>): boolean;
  /** A refusal, or undefined to let the pull through. */
  check(info: PullInfo): Promise<PullRefusal | undefined>;
}

export interface PullGateDeps {
  readonly projects: Pick<IdentityAreas["projects"], "getByName">;
  readonly store: Pick<MetadataStore, "manifests" | "tags">;
  readonly guard: AccessGuard;
  /**
   * Whether the request's caller may push to the repository by its current rights, whatever its
   * token grants: Harbor's tokens carry every action held, so a signer's pull token shows push
   * there; ours carry what was asked.
   */
  readonly mayPush: (ctx: RequestContext, repository: string) => Promise<boolean>;
  readonly checks: readonly PullCheck[];
}

export class PullGate {
  private readonly deps: PullGateDeps;

  constructor(deps: PullGateDeps) {
    this.deps = deps;
  }

  /** Throws 412 PROJECTPOLICYVIOLATION when a policy of the repository's project refuses the pull. */
  async check(ctx: RequestContext, repository: string, stored: StoredManifest): Promise<void> {
    const manifest = stored.record;
    const { projects, store, checks } = this.deps;
    const projectName = repositoryProject(repository)?.project;
    if (projectName === undefined || checks.length === 0) return;
    const project = await projects.getByName(projectName);
    if (!project) return;
    const applicable = checks.filter((c) => c.applies(project.metadata));
    if (applicable.length === 0) return;
    if (await this.holdsScannerPull(ctx, repository)) return;
    if (await isSignature(store, manifest, stored.content)) return;
    const info: PullInfo = {
      repository,
      project,
      manifest,
      method: ctx.req.method === "HEAD" ? "HEAD" : "GET",
      caller: this.caller(ctx, repository),
    };
    for (const check of applicable) {
      const refusal = await check.check(info);
      if (refusal) throw new RegistryError("PROJECTPOLICYVIOLATION", refusal.message);
    }
  }

  private async holdsScannerPull(ctx: RequestContext, repository: string): Promise<boolean> {
    const granted = await this.deps.guard.granted(ctx, [
      { type: "repository", name: repository, actions: [SCANNER_PULL] },
    ]);
    return granted.some((entry) => entry.actions.includes(SCANNER_PULL));
  }

  private caller(ctx: RequestContext, repository: string): PullCaller {
    const { guard, mayPush } = this.deps;
    let canPush: Promise<boolean> | undefined;
    return {
      subject: () => guard.subject(ctx),
      canPush: () => (canPush ??= mayPush(ctx, repository)),
      userAgent: userAgent(ctx.req),
    };
  }
}

function userAgent(req: IncomingMessage): string {
  return req.headers["user-agent"] ?? "";
}
