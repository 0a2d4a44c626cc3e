// The security gate in the stack configuration: a project's (and a proxy project's) scanning,
// vulnerable and unsigned pulls refused and CVE allowlist (`airlock:projects[]`,
// `airlock:proxyProjects[]`), the system's CVE allowlist (`airlock:systemCveAllowlist`) and the
// external scanner adapters (`airlock:scanners`). The rules are the providers' own
// (registry/project-security.ts, registry/scanner.ts): the schema gives the shape and asks their
// checks for the rest, so a stack is refused before `up` for what a provider would refuse.

import { z } from "zod";
import {
  checkProjectSecurity,
  normaliseAllowlist,
  normaliseSeverity,
  type CveAllowlist,
} from "../registry/project-security";
import { checkScanner, SCANNER_AUTH_TYPES } from "../registry/scanner";
import { pathOf, providerIssues as issues } from "./schema-parts";

const allowlistSchema = z.strictObject({
  /** Vulnerability ids: CVE-2024-3094, GHSA-… */
  items: z.array(z.string()).default([]),
  /** When the list stops applying: an ISO 8601 date or time, or Unix seconds. */
  expiresAt: z.union([z.string(), z.number().int()]).optional(),
});

/** The fields a project and a proxy project share (see ProjectSecurityArgs). */
export const projectSecurityShape = {
  /** Scan on push (on a proxy project: on pull-through). */
  autoScan: z.boolean().default(false),
  /** low, medium, high or critical: pulls at or above it are refused; false lets them through. */
  preventVulnerable: z
    .union([z.literal(false), z.string()])
    .default(false)
    .superRefine((value, ctx) => void normaliseSeverity(value, "", issues(ctx)))
    .transform((value) => normaliseSeverity(value, "preventVulnerable", () => undefined)),
  /** With preventVulnerable: scans made with a stale database vouch for nothing. */
  preventStaleScan: z.boolean().default(false),
  /** The project's own CVE allowlist. */
  cveAllowlist: allowlistSchema.optional(),
  /** Judge pulls by airlock:systemCveAllowlist instead. */
  reuseSystemCveAllowlist: z.boolean().default(false),
  /** An SBOM for each pushed image. */
  autoSbom: z.boolean().default(false),
  /** Refuse pulls of artifacts without a cosign signature. */
  requireSignature: z.boolean().default(false),
  /** PEM public keys whose signature counts (with requireSignature). */
  trustedKeys: z.array(z.string()).default([]),
};

/** The provider's check of a project's security settings, as schema issues (values as given). */
export function refineProjectSecurity(project: Record<string, unknown>, ctx: z.RefinementCtx): void {
  checkProjectSecurity(project, issues(ctx));
}

/** `airlock:systemCveAllowlist`: the registry's allowlist, which projects may reuse. */
export const systemCveAllowlistSchema = allowlistSchema.transform((value, ctx): CveAllowlist =>
  normaliseAllowlist(value, "", (property, reason) =>
    ctx.addIssue({ code: "custom", path: pathOf(property), message: reason }),
  ),
);

/** An external scanner adapter (`airlock:scanners[]`). */
export const scannerSchema = z
  .strictObject({
    /** Unique in the registry; "Trivy" is reserved. */
    name: z.string().min(1).max(128),
    /** The adapter's base URL. */
    url: z.string().min(1),
    description: z.string().max(1024).default(""),
    /** How the registry authenticates to the adapter; left out, it does not. */
    auth: z.enum(SCANNER_AUTH_TYPES).optional(),
    /** Set with `pulumi config set --secret --path 'airlock:scanners[0].accessCredential' …`. */
    accessCredential: z.string().optional(),
    /** Bump to send the credential again. */
    credentialVersion: z.number().int().min(0).default(0),
    skipCertVerify: z.boolean().default(false),
    useInternalAddr: z.boolean().default(false),
    /** Make it the registry's default scanner. */
    isDefault: z.boolean().default(false),
    disabled: z.boolean().default(false),
  })
  .superRefine((scanner, ctx) => {
    checkScanner(scanner, issues(ctx));
  });
