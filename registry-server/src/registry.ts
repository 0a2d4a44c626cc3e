// The composition root: builds every part of the registry from its configuration and wires them
// together. Nothing else creates long-lived objects; parts receive what they need.

import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import * as path from "node:path";
import type { ServerConfig } from "./config.ts";
import type { Logger } from "./logger.ts";
import { ensureAdminAccount } from "./auth/admin-account.ts";
import { CredentialAuthenticator } from "./auth/credential-authenticator.ts";
import { DEFAULT_LOGIN_LIMITS, LoginThrottle } from "./auth/login-throttle.ts";
import { hashPassword } from "./auth/password-hash.ts";
import { basicCredentials, isSysadmin, type Principal } from "./auth/principal.ts";
import { ProjectAuthorizer } from "./auth/project-authorizer.ts";
import { TokenAccessGuard } from "./auth/token-access-guard.ts";
import { addTokenRoutes } from "./auth/token-routes.ts";
import { loadOrCreateSigningKey, TokenService } from "./auth/token-service.ts";
import { ApiAccess, holdsSystemPermission } from "./api/api-access.ts";
import { AuditLog } from "./api/audit-log.ts";
import { addAuditRoutes } from "./api/audit-routes.ts";
import { addQuotaRoutes } from "./api/quota-routes.ts";
import { addRegistryCacheStatsRoutes } from "./api/registry-cache-stats-routes.ts";
import { addRegistryPingRoutes } from "./api/registry-ping-routes.ts";
import { addRegistryRoutes } from "./api/registry-routes.ts";
import { addArtifactRoutes } from "./api/artifact-routes.ts";
import { ArtifactView } from "./api/artifact-view.ts";
import { addRepositoryRoutes } from "./api/repository-routes.ts";
import { addTagRoutes } from "./api/tag-routes.ts";
import { addMemberRoutes } from "./api/member-routes.ts";
import { addImportRoutes } from "./api/import-routes.ts";
import { addPreheatRoutes } from "./api/preheat-routes.ts";
import { addProjectRoutes } from "./api/project-routes.ts";
import { addRobotRoutes } from "./api/robot-routes.ts";
import { addSystemRoutes, componentHealth } from "./api/system-routes.ts";
import { HarborMetrics, RESTRICTED_METRICS } from "./api/harbor-metrics.ts";
import { ScanMetrics } from "./api/scan-metrics.ts";
import { addUserRoutes } from "./api/user-routes.ts";
import { addConfigurationRoutes } from "./api/configuration-routes.ts";
import { addPermissionRoutes } from "./api/permission-routes.ts";
import { addProjectMetadataRoutes } from "./api/project-metadata-routes.ts";
import { addJobServiceRoutes } from "./api/jobservice-routes.ts";
import { addScheduleRoutes } from "./api/schedule-routes.ts";
import { addPurgeAuditRoutes } from "./api/purge-audit-routes.ts";
import { addGcRoutes } from "./api/gc-routes.ts";
import { addImmutableRuleRoutes } from "./api/immutable-rule-routes.ts";
import { addDeclarationRoutes } from "./api/declaration-routes.ts";
import { addPinRoutes } from "./api/pin-routes.ts";
import { addRetentionRoutes } from "./api/retention-routes.ts";
import { addCveAllowlistRoutes } from "./api/cve-allowlist-routes.ts";
import { addScanRoutes } from "./api/scan-routes.ts";
import { addScanAllRoutes } from "./api/scan-all-routes.ts";
import { addWebhookJobRoutes } from "./api/webhook-job-routes.ts";
import { addWebhookPolicyRoutes } from "./api/webhook-policy-routes.ts";
import { SCANNER_PULL } from "./auth/access-scope.ts";
import { AutoScan } from "./scan/auto-scan.ts";
import { scanAllJob } from "./scan/scan-all-job.ts";
import { imageScanJob } from "./scan/scan-job.ts";
import { SbomAccessories } from "./scan/sbom-accessory.ts";
import { SbomOverview } from "./scan/sbom-overview.ts";
import { DEFAULT_REPORT_MIMES, ScanService, type ScannerChoice, type ScanTarget } from "./scan/scan-service.ts";
import { DEFAULT_MAX_DATABASE_AGE_DAYS, DEFAULT_SCAN_TIMEOUT_SECONDS } from "./scan/scan-settings.ts";
import { VulnerabilityCheck } from "./scan/vulnerability-check.ts";
import { openTrivyScanner } from "./scan/trivy/open-trivy-scanner.ts";
import { TRIVY_REGISTRATION } from "./scan/trivy/trivy-scanner.ts";
import { addProjectScannerRoutes } from "./api/project-scanner-routes.ts";
import { addScannerRoutes } from "./api/scanner-routes.ts";
import { addReplicationExecutionRoutes } from "./api/replication-execution-routes.ts";
import { addReplicationPolicyRoutes } from "./api/replication-policy-routes.ts";
import { createReplicationEngine } from "./replication/replication-engine.ts";
import { ReplicationPolicyService } from "./replication/replication-policy-service.ts";
import { RemoteEndpoint } from "./replication/remote-endpoint.ts";
import { loadOrCreateSecretBox } from "./auth/secret-box.ts";
import { CSRF_KEY_PURPOSE, CsrfTokens } from "./auth/csrf-token.ts";
import { addSessionRoutes } from "./auth/session-routes.ts";
import { SessionService } from "./auth/session-service.ts";
import type { ScannerAdapter } from "./scan/scanner-adapter.ts";
import { ScannerRegistry, type BuiltinScannerRegistration } from "./scan/scanner-registry.ts";
import { AccessRecorder } from "./content/access-recorder.ts";
import { GarbageCollector } from "./gc/garbage-collector.ts";
import { gcJob } from "./gc/gc-job.ts";
import { DEFAULT_GC_TIME_WINDOW_HOURS } from "./gc/gc-parameters.ts";
import { ImmutableTagGuard } from "./immutability/immutable-tag-guard.ts";
import { retentionJob } from "./retention/retention-job.ts";
import { RetentionService } from "./retention/retention-service.ts";
import { addSearchRoutes } from "./api/search-routes.ts";
import { addStatisticsRoutes } from "./api/statistics-routes.ts";
import { addUsergroupRoutes } from "./api/usergroup-routes.ts";
import { auditPurgeJob } from "./audit/audit-purge-job.ts";
import { probeEndpoint } from "./audit/syslog-forwarder.ts";
import { publishDeletions, publishPushes } from "./events/manifest-events.ts";
import { RegistryEvents } from "./events/registry-events.ts";
import { JobMonitor } from "./jobs/job-monitor.ts";
import { JobService, type JobHandler } from "./jobs/job-service.ts";
import { readOnlyGuard } from "./settings/read-only-guard.ts";
import { SettingsService } from "./settings/system-settings.ts";
import { BlobStore } from "./content/blob-store.ts";
import { ConfigReader } from "./content/config-reader.ts";
import { LocalContent } from "./content/content-source.ts";
import { createProxyCache } from "./proxy/proxy-cache.ts";
import { ManifestService, type StoredManifestEvent } from "./content/manifest-service.ts";
import { UPLOAD_EXPIRY_CRON, UPLOAD_EXPIRY_VENDOR, uploadExpiryJob } from "./content/upload-expiry.ts";
import { UploadService } from "./content/upload-service.ts";
import { addBaseRoutes } from "./distribution/base-routes.ts";
import { addBlobRoutes } from "./distribution/blob-routes.ts";
import { addDiscoveryRoutes } from "./distribution/discovery-routes.ts";
import { push } from "./distribution/access-guard.ts";
import { addManifestRoutes } from "./distribution/manifest-routes.ts";
import { addUploadRoutes } from "./distribution/upload-routes.ts";
import { createRequestListener } from "./http/app.ts";
import { clientAddressResolver } from "./http/client-address.ts";
import { HarborError, RegistryError } from "./http/errors.ts";
import { HttpMetrics } from "./http/metrics.ts";
import { WorkerMetrics } from "./http/worker-metrics.ts";
import type { ClusterWorker } from "./cluster/cluster-worker.ts";
import { Router } from "./http/router.ts";
import { listen, type RunningServer } from "./http/server.ts";
import { openMetadataStore } from "./metadata/open-metadata-store.ts";
import { openStorageDriver } from "./storage/open-storage-driver.ts";
import { endpointHealthJob, healthCron, REGISTRY_HEALTH_VENDOR } from "./upstream/endpoint-health.ts";
import { openUpstreams } from "./upstream/upstreams.ts";
import { Preheater } from "./proxy/preheat.ts";
import { CosignSignatureCheck } from "./security/cosign-signature-check.ts";
import { WebhookDispatcher } from "./webhook/webhook-dispatcher.ts";
import { webhookJobs } from "./webhook/webhook-job.ts";
import { WebhookPolicies } from "./webhook/webhook-policies.ts";
import { WebhookSender } from "./webhook/webhook-sender.ts";
import { PullGate } from "./security/pull-gate.ts";
import { PortalAssets } from "./portal/portal-assets.ts";
import { addPortalRoutes } from "./portal/portal-routes.ts";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

/** How often pull times and blob claims are written (content/access-recorder.ts). */
const ACCESS_FLUSH_INTERVAL_MS = 5_000;

export interface RegistryOptions {
  /** Adds routes before the standard ones (tests use it to observe the request pipeline). */
  extraRoutes?: (router: Router) => void;
  /** This process is one worker of several serving the port: what it shares with the others. */
  cluster?: ClusterWorker;
  /**
   * The lifecycle's clock: pull times recorded and the "now" retention judges by (tests move it
   * days ahead); the system clock when absent.
   */
  lifecycleClock?: () => number;
  /**
   * Scanners running inside this server (`builtin://` URLs), registered at start-up and made the
   * default when no registration is; tests hand theirs in here.
   */
  builtinScanners?: ReadonlyArray<BuiltinScannerRegistration & { readonly adapter: ScannerAdapter }>;
  /** The event bus, when the caller listens too (tests); one of its own otherwise. */
  events?: RegistryEvents;
  /** Job handlers registered after the standard ones, replacing one of the same vendor type (tests). */
  jobHandlers?: readonly JobHandler[];
  /** The portal sessions' clock (idle timeout, lifetime); the system clock when absent (tests move it). */
  sessionClock?: () => number;
}

export async function startRegistry(
  config: ServerConfig,
  log: Logger,
  options: RegistryOptions = {},
): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  // Blobs: an S3 bucket or the filesystem under dataDir, with its health check.
  const storage = await openStorageDriver(config, log);
  const driver = storage.driver;
  // Metadata: PostgreSQL shared by replicas (with its health check), or SQLite under dataDir.
  const { store: metadata, healthCheck: databaseHealth } = await openMetadataStore(config, log, {
    sqliteWriteLock: options.cluster?.writeLock,
  });

  // The key that seals stored secrets (endpoint credentials, scanner and webhook auth) and from
  // which the CSRF key derives: one file in dataDir/auth/, shared by replicas, read once.
  const secretBox = await loadOrCreateSecretBox(path.join(config.dataDir, "auth"));

  // System settings changed through the API, shared by replicas through the database.
  const settings = new SettingsService(metadata.settings, {
    tokenExpirationMinutes: Math.ceil(config.token.ttlSeconds / 60),
  });
  options.cluster?.shareSettings(settings);

  // A password given in clear is hashed at once; only the hash is kept.
  const passwordHash = config.admin.passwordHash ?? (await hashPassword(config.admin.password ?? ""));
  await ensureAdminAccount(metadata, config.admin.username, passwordHash);
  // The client's address: the peer's, or what a trusted reverse proxy says it saw.
  const clientAddress = clientAddressResolver(config.trustedProxies);
  // Failed logins counted once for the whole server, whichever worker saw them.
  const throttle = new LoginThrottle(DEFAULT_LOGIN_LIMITS);
  const credentials = new CredentialAuthenticator(
    metadata,
    options.cluster?.sharedThrottle(throttle) ?? throttle,
    Date.now,
    async () => (await settings.current()).robotNamePrefix,
  );
  /** Basic credentials: the principal, "invalid" when wrong, undefined when absent. */
  const authenticate = async (req: IncomingMessage): Promise<Principal | "invalid" | undefined> => {
    const given = basicCredentials(req);
    if (!given) return undefined;
    const result = await credentials.authenticate(given, clientAddress(req));
    if (result.outcome === "throttled") {
      throw new RegistryError("TOOMANYREQUESTS", "too many failed logins: try again later", {
        headers: { "Retry-After": String(result.retryAfterSeconds) },
      });
    }
    return result.outcome === "authenticated" ? result.principal : "invalid";
  };
  // The portal's browser sessions, in the database for every worker and replica; their CSRF
  // tokens keyed from the secret-box key, which replicas share (auth/csrf-token.ts).
  const sessions = new SessionService({
    store: metadata,
    csrf: new CsrfTokens(secretBox.deriveKey(CSRF_KEY_PURPOSE)),
    idleTimeoutMinutes: async () => (await settings.current()).sessionTimeoutMinutes,
    ...(options.sessionClock && { now: options.sessionClock }),
  });
  /** The management API's caller: basic credentials first (as Harbor orders them), else a session. */
  const authenticateApi = async (req: IncomingMessage): Promise<Principal | "invalid" | undefined> =>
    (await authenticate(req)) ?? (await sessions.authenticate(req));
  const authenticateBasic = async (req: IncomingMessage): Promise<Principal | undefined> => {
    const principal = await authenticate(req);
    return principal === "invalid" ? undefined : principal;
  };
  const authorizer = new ProjectAuthorizer(metadata);
  const tokens = new TokenService({
    signingKey: await loadOrCreateSigningKey(path.join(config.dataDir, "auth")),
    issuer: config.token.service,
    service: config.token.service,
    ttlSeconds: config.token.ttlSeconds,
  });
  const guard = new TokenAccessGuard({
    tokens,
    authorizer,
    authenticateBasic,
    service: config.token.service,
    ...(config.token.realm !== undefined && { realm: config.token.realm }),
  });

  // What happens in the registry, for the parts that react: webhooks, event-based replication.
  const events = options.events ?? new RegistryEvents(log);
  // Blobs, with the project quotas (pushes refused or nearing the limit go on the bus).
  const blobs = new BlobStore(
    driver,
    metadata,
    log,
    async () => (await settings.current()).quotaPerProjectEnable,
    events,
  );
  const uploads = new UploadService(driver, metadata, blobs, log);
  // Tag immutability: a check before the writes that would move or remove a protected tag.
  const immutability = new ImmutableTagGuard(metadata);
  // Told of each manifest stored: scan on push, whose service needs the job system built below.
  const storedListeners: Array<(event: StoredManifestEvent) => void> = [publishPushes(events)];
  const manifests = new ManifestService(metadata, blobs, {
    maxManifestBytes: config.limits.maxManifestBytes,
    ...(config.validation && { validation: config.validation }),
    immutability,
    onStored: (event) => storedListeners.forEach((listener) => listener(event)),
    onDeleted: publishDeletions(events),
  });
  // Pull times and garbage collection's claims on blobs read, written in batches off the requests.
  const gcConfig = config.gc ?? { timeWindowHours: DEFAULT_GC_TIME_WINDOW_HOURS, readGraceSeconds: 60 };
  const gcWindowMs = gcConfig.timeWindowHours * 3_600_000;
  const reads = new AccessRecorder(
    metadata,
    {
      flushIntervalMs: ACCESS_FLUSH_INTERVAL_MS,
      // A quarter of the grace period (gc/README.md, claim 4), never more often than the flushes.
      claimEveryMs: Math.max(gcWindowMs / 4, ACCESS_FLUSH_INTERVAL_MS),
      maxPending: 10_000,
    },
    log,
    options.lifecycleClock,
  );
  const metrics = new HttpMetrics();
  // Upstream registry endpoints: adapters with the egress settings, sealed secrets, health checks.
  const upstreams = openUpstreams(config, metadata, secretBox, log);
  const { endpoints, factory, pingTimeoutMs } = upstreams;
  const proxy = createProxyCache({
    metadata,
    manifests,
    blobs,
    local: new LocalContent(manifests, blobs),
    endpoints: (id) => endpoints.get(id),
    factory,
    mirror: config.mirror,
    metricsRegistry: metrics.registry,
    statsFlushIntervalMs: ACCESS_FLUSH_INTERVAL_MS,
    log,
  });
  const content = proxy.content;
  // Scanners (Harbor's registrations): adapters reached through the egress settings, credentials
  // sealed with the upstreams' key, and the built-in scanners registered once for all replicas.
  // The built-in Trivy scanner, its database read from this registry's own content.
  const trivy =
    config.scanner?.trivy &&
    (await openTrivyScanner(config.scanner.trivy, {
      content,
      blobs,
      dataDir: config.dataDir,
      log,
      ...(options.lifecycleClock && { now: options.lifecycleClock }),
      ...(options.cluster && { instance: String(options.cluster.slot) }),
    }));
  const builtinScanners = [
    ...(options.builtinScanners ?? []),
    ...(trivy ? [{ ...TRIVY_REGISTRATION, adapter: trivy }] : []),
  ];
  const scanners = new ScannerRegistry({
    store: metadata,
    box: secretBox,
    egress: upstreams.egress,
    builtins: new Map(builtinScanners.map((builtin) => [builtin.url, builtin.adapter])),
  });
  for (const builtin of builtinScanners) {
    await scanners
      .ensureBuiltin(builtin)
      .catch((err: unknown) => log.warn({ err, scanner: builtin.name }, "could not register the built-in scanner"));
  }
  const audit = new AuditLog(metadata, settings, log);
  // Where scanners read this registry: its own address, known once it listens.
  let ownUrl = "";
  // Background work: one job system, each execution run once across processes and replicas.
  const jobs = new JobService({
    store: metadata,
    log,
    ...(config.jobs && { options: { leaseMs: config.jobs.leaseSeconds * 1_000 } }),
  });
  // Scans: Harbor's scan controller over the registrations, run as jobs with scoped pull tokens.
  const scans = new ScanService({ store: metadata, jobs, scanners, log });
  const scanJobDeps = {
    store: metadata,
    scanners,
    metadataOf: (choice: ScannerChoice) => scans.metadataOf(choice),
    pullAuthorization: (repository: string, ttlSeconds: number) =>
      `Bearer ${tokens.issue("harbor-scanner", [{ type: "repository", name: repository, actions: ["pull", SCANNER_PULL] }], ttlSeconds).token}`,
    registryUrl: () => config.scanner?.registryUrl ?? ownUrl,
    timeoutMs: (config.scanner?.scanTimeoutSeconds ?? DEFAULT_SCAN_TIMEOUT_SECONDS) * 1_000,
    // An SBOM scan's document becomes the artifact's harbor.sbom accessory, pushed in process.
    postScan: new SbomAccessories({ store: metadata, manifests, blobs, log }).postScan,
    // The end of each vulnerability scan goes on the bus with the artifact's overview.
    events,
    overview: (target: Pick<ScanTarget, "projectId" | "repository" | "digest" | "mediaType">) =>
      scans.overview(target, DEFAULT_REPORT_MIMES),
  };
  const sboms = new SbomOverview(scans, metadata);
  const autoScan = new AutoScan({ store: metadata, scans, log });
  storedListeners.push(autoScan.stored);
  jobs
    .register(imageScanJob(scanJobDeps))
    .register(scanAllJob({ ...scanJobDeps, service: scans }))
    .register(auditPurgeJob(metadata))
    .register(uploadExpiryJob({ metadata, blobs }, config.limits.uploadIdleHours * 3_600_000))
    .register(endpointHealthJob(upstreams.health, metadata.registries))
    .register(proxy.preheatJob)
    .register(
      gcJob(
        new GarbageCollector(
          { store: metadata, blobs, driver },
          {
            readGraceMs: gcConfig.readGraceSeconds * 1_000,
            uploadMaxIdleMs: config.limits.uploadIdleHours * 3_600_000,
          },
        ),
        { timeWindowMs: gcWindowMs },
        metadata.scanReports,
      ),
    )
    .register(
      retentionJob({
        store: metadata,
        immutability,
        events,
        ...(options.lifecycleClock && { now: options.lifecycleClock }),
      }),
    );
  // Webhooks: Harbor's policies (auth headers sealed with the upstreams' key), deliveries queued
  // from the bus as jobs, sent through the egress settings. The registry's address in payloads:
  // the token realm's when configured (what clients were told), else this server's own.
  const webhooks = new WebhookPolicies({
    store: metadata,
    box: secretBox,
  });
  const webhookSender = new WebhookSender({ egress: upstreams.egress });
  const dispatcher = new WebhookDispatcher({
    store: metadata,
    jobs,
    enabled: async () => (await settings.current()).notificationEnable,
    registry: () => {
      const url = new URL(config.token.realm ?? ownUrl);
      return { host: url.host, endpoint: url.origin };
    },
    log,
  });
  webhooks.onChange((projectId) => dispatcher.invalidate(projectId));
  events.subscribe(dispatcher.listener);
  for (const handler of webhookJobs({ store: metadata, policies: webhooks, sender: webhookSender })) {
    jobs.register(handler);
  }
  // Replication policies: the policy and its schedule kept together; executions started through it.
  const replicationPolicies = new ReplicationPolicyService({ store: metadata, jobs });
  // Replication: this registry and the registry endpoints as sources and destinations, the
  // REPLICATION job and the trigger that queues event-based executions.
  const replication = createReplicationEngine({
    store: metadata,
    blobs,
    uploads,
    manifests,
    events,
    jobs,
    log,
    projectOwner: config.admin.username,
    policy: (id) => metadata.replicationPolicies.get(id),
    enabledPolicies: () => metadata.replicationPolicies.listEnabled(),
    remote: async (id) => {
      const endpoint = await endpoints.get(id);
      if (!endpoint) throw new Error(`registry endpoint ${id} does not exist`);
      return new RemoteEndpoint(endpoint, upstreams.connections);
    },
    localUrl: () => (config.token.realm ? new URL(config.token.realm).origin : ownUrl),
  });
  replicationPolicies.onChange(() => replication.trigger.invalidate());
  jobs.register(replication.handler);
  for (const handler of options.jobHandlers ?? []) jobs.register(handler);
  await jobs.ensureSchedule({ vendorType: UPLOAD_EXPIRY_VENDOR, cron: UPLOAD_EXPIRY_CRON, parameters: {} });
  await jobs.ensureSchedule({
    vendorType: REGISTRY_HEALTH_VENDOR,
    cron: healthCron(config.upstream.healthCheckIntervalMs),
    parameters: {},
  });

  // Retention policies: the document, the project's retention_id and the schedule kept together.
  const retention = new RetentionService(metadata, jobs);

  // The session's CSRF token on every management API reply to a session (auth/session-service.ts).
  const router = new Router().guard(readOnlyGuard(settings)).guard(sessions.tokenGuard());
  options.extraRoutes?.(router);
  addBaseRoutes(router, (ctx) => guard.requireAuthenticated(ctx));
  addUploadRoutes(router, { blobs, uploads, guard, content });
  addBlobRoutes(router, { blobs, content, guard, reads });
  // Pull policies of projects, checked on GET and HEAD of a manifest before its bytes go out.
  const gate = new PullGate({
    projects: metadata.projects,
    store: metadata,
    guard,
    mayPush: async (ctx, repository) => {
      const caller = await guard.identify(ctx.req);
      const principal =
        caller.kind === "basic"
          ? caller.principal
          : caller.kind === "bearer"
            ? await credentials.principalByName(caller.subject)
            : undefined;
      const granted = await authorizer.authorize(principal, [push(repository)]);
      return granted.some((entry) => entry.actions.includes("push"));
    },
    checks: [
      new CosignSignatureCheck({ store: metadata, blobs, log }),
      new VulnerabilityCheck({
        store: metadata,
        scans,
        maxDatabaseAgeDays: config.scanner?.maxDatabaseAgeDays ?? DEFAULT_MAX_DATABASE_AGE_DAYS,
      }),
    ],
  });
  addManifestRoutes(router, { manifests, content, guard, audit, reads, gate, events });
  addDiscoveryRoutes(router, { manifests, metadata, guard });
  addTokenRoutes(router, {
    tokens,
    authorizer,
    authenticate: authenticateBasic,
    service: config.token.service,
    ttlSeconds: async () => (await settings.current()).tokenExpirationMinutes * 60,
  });
  const access = new ApiAccess(authenticateApi, metadata);
  addSessionRoutes(router, { credentials, sessions, clientAddress });
  addProjectRoutes(router, { identity: metadata, access, settings, retention });
  addProjectMetadataRoutes(router, { identity: metadata, access });
  addMemberRoutes(router, { store: metadata, access });
  addUserRoutes(router, { store: metadata, access, sessions });
  addRobotRoutes(router, { store: metadata, access, settings, audit });
  addQuotaRoutes(router, { store: metadata, access });
  addAuditRoutes(router, { store: metadata, access });
  addPurgeAuditRoutes(router, { store: metadata, jobs, access });
  addGcRoutes(router, { store: metadata, jobs, access, timeWindowHours: gcConfig.timeWindowHours });
  addRetentionRoutes(router, { store: metadata, jobs, retention, access });
  addImmutableRuleRoutes(router, { store: metadata, access });
  addPinRoutes(router, { store: metadata, access });
  addCveAllowlistRoutes(router, { store: metadata, access, audit });
  addScanRoutes(router, { store: metadata, access, scans });
  addScanAllRoutes(router, { store: metadata, jobs, access });
  addWebhookPolicyRoutes(router, { store: metadata, policies: webhooks, access });
  addWebhookJobRoutes(router, { store: metadata, access });
  addDeclarationRoutes(router, { store: metadata, access, settings });
  const monitor = new JobMonitor({ store: metadata, jobs });
  addJobServiceRoutes(router, { store: metadata, monitor, access });
  addScheduleRoutes(router, { store: metadata, monitor, access });
  addConfigurationRoutes(router, {
    settings,
    access,
    audit,
    checkAuditEndpoint: async (endpoint) => {
      const reason = await probeEndpoint(endpoint);
      if (reason !== undefined) {
        throw new HarborError("BAD_REQUEST", `could not connect to the audit endpoint ${endpoint}: ${reason}`);
      }
    },
  });
  addPermissionRoutes(router, { store: metadata, access });
  addUsergroupRoutes(router, { access });
  addStatisticsRoutes(router, { store: metadata, access });
  addSearchRoutes(router, { store: metadata, access });
  addRepositoryRoutes(router, { store: metadata, access, audit, immutability, events });
  // Artifacts as Harbor shows them; configs read for them are cached by digest.
  const view = new ArtifactView(metadata, new ConfigReader(blobs), immutability);
  addArtifactRoutes(router, { store: metadata, access, audit, manifests, blobs, view, scans, sboms });
  addTagRoutes(router, { store: metadata, access, audit, immutability, events });
  addRegistryRoutes(router, {
    store: metadata,
    access,
    endpoints,
    onChange: (id) =>
      void jobs
        .enqueue(REGISTRY_HEALTH_VENDOR, { registry_id: id }, "EVENT")
        .catch((err: unknown) => log.warn({ err, registryId: id }, "could not queue the endpoint's health check")),
  });
  addRegistryPingRoutes(router, { store: metadata, access, endpoints, factory, pingTimeoutMs });
  addRegistryCacheStatsRoutes(router, { store: metadata, access, endpoints, flushStats: () => proxy.flushStats() });
  addScannerRoutes(router, { store: metadata, access, scanners });
  addReplicationPolicyRoutes(router, {
    store: metadata,
    access,
    policies: replicationPolicies,
    localUrl: () => ownUrl,
  });
  addReplicationExecutionRoutes(router, { store: metadata, jobs, access, policies: replicationPolicies });
  addProjectScannerRoutes(router, { store: metadata, access, scanners });
  addPreheatRoutes(router, {
    projects: metadata.projects,
    access,
    preheater: new Preheater({ jobs, store: metadata.jobs }),
  });
  addImportRoutes(router, {
    metadata,
    blobs,
    manifests,
    driver,
    log,
    access,
    audit,
    ...(config.limits.maxImportBytes !== undefined && { limits: { maxImportBytes: config.limits.maxImportBytes } }),
  });
  // Harbor's order of components: core, database, …, storage.
  const healthChecks = [
    ...(databaseHealth ? [databaseHealth] : []),
    storage.healthCheck,
    ...(trivy ? [() => trivy.health()] : []),
  ];
  addSystemRoutes(router, healthChecks, {
    version: VERSION,
    storageProvider: driver.name,
    settings: () => settings.current(),
  });
  // Harbor's exporter metrics, from the database: the same figures in every worker and replica.
  new HarborMetrics(metrics.registry, {
    store: metadata,
    health: () => componentHealth(healthChecks),
    version: VERSION,
    log,
  });
  // Scans, vulnerabilities per project and database ages, from the database and the scanners.
  new ScanMetrics(metrics.registry, {
    store: metadata,
    metadataOf: (registration, signal) => scanners.metadataOf(registration, signal),
    builtinDatabases: new Map(trivy ? [[TRIVY_REGISTRATION.url, () => trivy.databaseInfo()?.updatedAt]] : []),
    log,
  });
  // What adding up the workers would hide (a stalled event loop, one growing heap), per worker.
  const workerMetrics = new WorkerMetrics(metrics.registry, options.cluster?.slot ?? 1);
  // Project names and sizes (private projects too) are for the administrator and for system
  // robots that may list projects (Prometheus, with a robot's credentials); others get the rest.
  metrics.addMetricsRoute(router, options.cluster?.metricsSource(metrics.registry), {
    prefixes: RESTRICTED_METRICS,
    allowed: async (req) => {
      const caller = await access.caller(req).catch(() => undefined);
      return caller !== undefined && (isSysadmin(caller) || holdsSystemPermission(caller, "project", "list"));
    },
  });

  // The web portal, under every path the APIs leave free: added last for that reason.
  if (config.portal) {
    const assets = await PortalAssets.load(config.portal.assetsDir);
    if (!assets) log.warn({ dir: config.portal.assetsDir }, "the portal is not built: run the set-up to build it");
    addPortalRoutes(router, { assets, tls: config.tls !== undefined });
  }

  const server = await listen(
    createRequestListener(router, log, metrics, proxy.rewrite, clientAddress),
    {
      ...config.addr,
      ...(config.tls && { tls: config.tls }),
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      // The primary says "listening" once every worker does.
      ...(options.cluster && { announce: "worker listening" }),
    },
    log,
  );
  ownUrl = server.url;
  jobs.start();
  replication.trigger.start();
  reads.start();
  let stopping: Promise<void> | undefined;
  return {
    ...server,
    // Once: a second call (a test stopping a server twice) waits for the first.
    stop: () =>
      (stopping ??= (async () => {
        await server.stop();
        await autoScan.settled();
        await dispatcher.settled();
        await replication.trigger.stop();
        await jobs.stop();
        await webhookSender.close();
        await trivy?.close();
        await reads.stop();
        await proxy.close();
        await scanners.close();
        await audit.close();
        await metadata.close();
        await storage.close();
        workerMetrics.close();
      })()),
  };
}
