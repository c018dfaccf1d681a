// build(config, deps) → a Fastify instance with every route; no listen, no env reading.
import { availableParallelism } from "node:os";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { AuditLog, loadAuditKeys } from "./audit/audit-log.js";
import { AccessKeyService } from "./auth/access-key-service.js";
import { AuthService } from "./auth/auth-service.js";
import { Credentials } from "./auth/credential-cache.js";
import { FailureLimiter } from "./auth/failure-limiter.js";
import { UserService } from "./auth/user-service.js";
import type { Config } from "./config.js";
import { AeadThread } from "./crypto/aead-thread.js";
import { type CipherChoice, chooseCipher } from "./crypto/cipher-choice.js";
import { FailureLogs } from "./failure-log.js";
import { accessKeyRoutes } from "./http/access-key-routes.js";
import { auditHooks } from "./http/audit-hooks.js";
import { auditRoutes } from "./http/audit-routes.js";
import { authPlugin } from "./http/auth-plugin.js";
import { loadConsoleAssets } from "./http/console-assets.js";
import { consoleRoutes } from "./http/console-routes.js";
import { contentSafetyHeaders } from "./http/content-safety.js";
import { dataRoutes } from "./http/data-routes.js";
import { docsPlugin } from "./http/docs.js";
import { drainingPlugin } from "./http/draining.js";
import { folderRoutes } from "./http/folder-routes.js";
import { headerChecksPlugin } from "./http/header-checks.js";
import { hostileInputPlugin } from "./http/hostile-input.js";
import { jobRoutes } from "./http/job-routes.js";
import { keyRoutes } from "./http/key-routes.js";
import { linkRoutes } from "./http/link-routes.js";
import { meRoutes } from "./http/me-routes.js";
import { metricsPlugin, metricsRoute, ServiceMetrics } from "./http/metrics.js";
import { clientErrorHandler, frameworkErrors, problemPlugin } from "./http/problem.js";
import { trackQuietConnections } from "./http/quiet-connections.js";
import { genReqId } from "./http/request-id.js";
import { requestLogging, requestLogPlugin } from "./http/request-log.js";
import { buildValidator } from "./http/strict-validator.js";
import { systemRoutes } from "./http/system-routes.js";
import { userRoutes } from "./http/user-routes.js";
import { JobRunner } from "./jobs/job-runner.js";
import { JobService } from "./jobs/job-service.js";
import { REWRAP, rewrapJob } from "./jobs/rewrap-job.js";
import { ROOT_ROTATE, rootRotationJob } from "./jobs/root-rotation-job.js";
import { VERIFY, verifyJob } from "./jobs/verify-job.js";
import { KeyService } from "./keys/key-service.js";
import { KeyVersionService } from "./keys/key-version-service.js";
import type { RootKeyProvider } from "./keys/root-key-provider.js";
import { BucketService } from "./objects/bucket-service.js";
import { DownloadLinkService } from "./objects/download-link-service.js";
import { Md5Thread } from "./objects/md5-thread.js";
import { MultipartService } from "./objects/multipart-service.js";
import { ObjectService } from "./objects/object-service.js";
import { auditedS3Operations } from "./s3/audited-ops.js";
import { s3Operations } from "./s3/ops/index.js";
import type { S3Operations } from "./s3/router.js";
import { buildS3App, type S3Server } from "./s3/server.js";
import type { Stores } from "./store/stores.js";
import { VERSION } from "./version.js";
import { YoungCollector } from "./young-gc.js";

export interface Deps {
  stores: Stores;
  root: RootKeyProvider;
  logger: Logger;
  /** In one of several workers sharing the ports (SSE_WORKERS, cluster.ts); unset in a lone process. */
  workers?: WorkerRole;
}

export interface WorkerRole {
  /** Workers sharing the ports. */
  count: number;
  /** Every worker's metrics, added up (Prometheus text). */
  metrics(): Promise<string>;
}

/**
 * Each worker counts the failed authentications it sees; requests spread over the workers, so each
 * gets its share of SSE_AUTH_FAILURE_LIMIT and a client gets about the limit in all.
 */
export function failureLimitPerProcess(limit: number, workers: WorkerRole | undefined): number {
  return Math.max(1, Math.ceil(limit / (workers?.count ?? 1)));
}

export interface Services {
  /** S3 access keys: issue, list, revoke, and the S3 listener's lookup(id) and authenticated(caller). */
  accessKeys: AccessKeyService;
  objects: ObjectService;
  buckets: BucketService;
  multipart: MultipartService;
  keys: KeyService;
  keyVersions: KeyVersionService;
  auth: AuthService;
  links: DownloadLinkService;
  users: UserService;
  jobs: JobService;
  /** Not started by build(): the process starts it once it serves (main.ts). */
  runner: JobRunner;
  /** The suite new writes are sealed with (SSE_CIPHER), and why. */
  cipher: CipherChoice;
}

/** The audit log (docs/AUDIT.md), or null with SSE_AUDIT=false; main.ts starts its checkpoints. */
async function openAuditLog(config: Config, deps: Deps, services: Services): Promise<AuditLog | null> {
  if (!config.audit) return null;
  const keys = await loadAuditKeys(services.keys);
  return new AuditLog(deps.stores.audit, keys, deps.logger.child({ component: "audit" }), {
    required: config.auditRequired,
    reads: config.auditReads,
    checkpointSeconds: config.auditCheckpointSeconds,
    ...(config.auditExport ? { exportFile: config.auditExport } : {}),
  });
}

/** A refused credential's event; it changes nothing, so a failure to write it is only logged. */
function refusalRecorder(audit: AuditLog | null, api: "native" | "s3") {
  if (!audit) return undefined;
  return async (req: { ip: string; id: string }, reason: "invalid" | "throttled") => {
    await audit
      .record(
        {
          action: reason === "throttled" ? "auth.throttled" : "auth.failure",
          outcome: "denied",
          api,
          client: req.ip,
          requestId: req.id,
          detail:
            reason === "throttled"
              ? "too many failed authentications"
              : "unknown, expired or revoked credential",
        },
        { relaxed: true },
      )
      // Logged by the audit log; a refused credential stays a 401 whatever happens to its event.
      .catch(() => undefined);
  };
}

/** The S3 operations, and with the audit log their events (intents, outcomes, refused signatures). */
function s3WithAudit(ops: S3Operations, audit: AuditLog | null) {
  if (!audit) return { ops };
  const audited = auditedS3Operations(ops, audit);
  return { ops: audited.ops, beforeSend: audited.beforeSend, onRefused: refusalRecorder(audit, "s3")! };
}

/** Providers reread their key ring every 30 s: other processes may wrap under an old root that long. */
const MULTI_PROCESS_ROOT_RETIRE_GRACE_MS = 65_000;

export interface App {
  app: FastifyInstance;
  /** The S3 listener's app (SSE_S3_PORT), or null when it is off; main.ts listens on it. */
  s3: S3Server | null;
  services: Services;
  /** The audit log, or null with SSE_AUDIT=false. */
  audit: AuditLog | null;
  metrics: ServiceMetrics;
  /** Flips /ready to 503 and refuses new requests (503, connection closed) while in-flight ones finish. */
  beginShutdown(): void;
  /** Closes the connections with no request in progress (during shutdown; see quiet-connections.ts). */
  closeQuietConnections(): void;
}

export function buildServices(
  config: Config,
  deps: Deps,
  metrics: ServiceMetrics = new ServiceMetrics(VERSION),
): Services {
  const { stores } = deps;
  const keys = new KeyService(stores.keys, deps.root, {
    cacheSize: config.keyCacheSize,
    cacheTtlMs: config.keyCacheTtlSeconds * 1000,
  });
  metrics.observeKeyCache(keys.cache);
  const youngGc = new YoungCollector(config.gcEveryMib * 1024 * 1024);
  const cipher = chooseCipher(config.cipher);
  // S3 writes' MD5 (their ETag) beside the request's thread, where a second core can run it.
  const md5Thread =
    availableParallelism() > 1
      ? new Md5Thread({
          onError: (err) => deps.logger.error({ err }, "the MD5 thread failed; MD5s run inline"),
        })
      : undefined;
  const objects = new ObjectService(
    stores.objects,
    keys,
    {
      maxObjectBytes: config.maxObjectBytes,
      suite: cipher.suite,
      smallSuite: cipher.smallSuite,
      metrics,
      space: stores.space,
      youngGc,
      // A second thread only pays where a second core can run it.
      aeadThread:
        config.readThread && availableParallelism() > 1
          ? new AeadThread({
              onError: (err) => deps.logger.error({ err }, "the read thread (SSE_READ_THREAD) failed"),
            })
          : null,
      manifests: stores.multipart,
      ...(md5Thread ? { md5Thread } : {}),
    },
    new FailureLogs(deps.logger, "background "),
  );
  const buckets = new BucketService(stores.buckets, stores.objects, stores.multipart);
  const multipart = new MultipartService(stores.multipart, stores.objects, keys, {
    maxObjectBytes: config.maxObjectBytes,
    suite: cipher.suite,
    youngGc,
    ...(md5Thread ? { md5Thread } : {}),
    ...(stores.space ? { space: stores.space } : {}),
    reclaim: () => objects.scheduleReclaim(),
    onError: (err, what) => deps.logger.error({ err }, `background ${what} failed`),
  });
  // Credentials resolved in the last second, dropped at once by the changes made here.
  const credentials = new Credentials();
  const users = new UserService(stores.accounts, stores.objects, keys, deps.logger, credentials);
  const auth = new AuthService(stores.accounts, users, deps.logger, credentials);
  const accessKeys = new AccessKeyService(stores.accounts, users, keys, deps.logger);
  const runner = new JobRunner(
    stores.jobs,
    {
      [REWRAP]: rewrapJob(keys, stores.objects, stores.accounts),
      [ROOT_ROTATE]: rootRotationJob(keys, stores.keys, {
        // A lone process owns an SQLite store; workers share it, and any number share PostgreSQL.
        retireGraceMs: config.databaseUrl || deps.workers ? MULTI_PROCESS_ROOT_RETIRE_GRACE_MS : 0,
      }),
      [VERIFY]: verifyJob(objects, stores.accounts),
    },
    { logger: deps.logger.child({ component: "jobs" }), metrics, pauseMs: config.jobPauseMs },
  );
  const keyVersions = new KeyVersionService(keys, stores.objects, stores.accounts);
  const jobs = new JobService(stores.jobs, stores.objects, stores.accounts, runner);
  const links = new DownloadLinkService(stores.objects, stores.accounts, keys);
  return {
    objects,
    buckets,
    multipart,
    keys,
    keyVersions,
    auth,
    accessKeys,
    users,
    jobs,
    runner,
    links,
    cipher,
  };
}

export async function build(config: Config, deps: Deps): Promise<App> {
  const metrics = new ServiceMetrics(VERSION);
  const services = buildServices(config, deps, metrics);
  const audit = await openAuditLog(config, deps, services);
  if (deps.stores.space) metrics.observeSpace(deps.stores.space);
  let shuttingDown = false;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    ...requestLogging(deps.logger, config.libraryShortcuts),
    // Bodies are never type-coerced: http/strict-validator.ts.
    schemaController: { compilersFactory: { buildValidator } },
    genReqId,
    routerOptions: { maxParamLength: 4096 },
    exposeHeadRoutes: false,
    // One proxy of ours in front: the client is the address it appended, whatever the client
    // itself put earlier in X-Forwarded-For (trusting every hop would let it pick its address).
    trustProxy: config.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    // The draining plugin answers instead, with a problem document and the request id.
    return503OnClosing: false,
    // A slow client may take long over a large object (no total deadline), but a socket idle
    // for two minutes is closed.
    connectionTimeout: 120_000,
    requestTimeout: 0,
    clientErrorHandler,
    frameworkErrors,
    // Longer than the idle timeout of clients and load balancers (commonly 60 s), so a server
    // never closes a kept-alive connection just as a client starts a request on it.
    keepAliveTimeout: 65_000,
  });
  const connections = trackQuietConnections(app.server);
  app.addHook("onRequest", (req, reply, done) => {
    reply.header("X-Request-Id", req.id);
    done();
  });
  await app.register(problemPlugin);
  await app.register(headerChecksPlugin);
  await app.register(hostileInputPlugin);
  await app.register(requestLogPlugin);
  await app.register(metricsPlugin, { metrics });
  await app.register(drainingPlugin, { isDraining: () => shuttingDown });
  await app.register(docsPlugin, { version: VERSION });
  await app.register(systemRoutes, {
    stores: deps.stores,
    root: deps.root,
    space: deps.stores.space,
    isShuttingDown: () => shuttingDown,
  });
  await app.register(metricsRoute, {
    metrics,
    token: config.metricsToken,
    ...(deps.workers ? { collect: deps.workers.metrics } : {}),
  });
  const failureLimit = failureLimitPerProcess(config.authFailureLimit, deps.workers);
  const limiter = new FailureLimiter(failureLimit, config.authFailureWindowSeconds * 1000);
  await app.register(async (api) => {
    // Every API answer, errors included, may echo what users stored (ids, types, labels, bytes).
    api.addHook("onRequest", (_req, reply, done) => {
      contentSafetyHeaders(reply);
      done();
    });
    const onRefused = refusalRecorder(audit, "native");
    await api.register(authPlugin, {
      auth: services.auth,
      limiter,
      onFailure: (reason) => metrics.authFailure(reason),
      ...(onRefused ? { onRefused } : {}),
    });
    if (audit) {
      await api.register(auditHooks, { audit, users: services.users });
      await api.register(auditRoutes, { audit, users: services.users });
    }
    await api.register(dataRoutes, { objects: services.objects });
    await api.register(meRoutes);
    await api.register(userRoutes, { users: services.users });
    await api.register(accessKeyRoutes, { accessKeys: services.accessKeys });
    await api.register(keyRoutes, {
      keyVersions: services.keyVersions,
      jobs: services.jobs,
      users: services.users,
      root: deps.root,
    });
    await api.register(jobRoutes, { jobs: services.jobs, users: services.users });
    await api.register(linkRoutes, {
      audit,
      objects: services.objects,
      links: services.links,
      publicUrl: {
        publicUrl: config.publicUrl,
        trustProxy: config.trustProxy,
        listenHost: config.host,
        production: config.production,
      },
    });
    await api.register(folderRoutes, { objects: services.objects });
  });
  await app.register(consoleRoutes, {
    // The API serves without the console; the log says why it is missing.
    assets: await loadConsoleAssets().catch((err) => {
      deps.logger.error({ err }, "the web console is not available");
      return null;
    }),
    settings: { maxObjectBytes: config.maxObjectBytes, version: VERSION, s3Port: config.s3Port },
  });
  // The S3 listener: the same services behind S3's protocol (src/s3/), its own Fastify instance.
  const s3 =
    config.s3Port > 0
      ? await buildS3App(
          {
            ...(config.s3Domain ? { domain: config.s3Domain } : {}),
            region: config.s3Region,
            trustProxy: config.trustProxy,
            libraryShortcuts: config.libraryShortcuts,
          },
          {
            logger: deps.logger,
            ...s3WithAudit(
              s3Operations({
                objects: services.objects,
                buckets: services.buckets,
                multipart: services.multipart,
                region: config.s3Region,
              }),
              audit,
            ),
            lookupKey: (id) => services.accessKeys.lookup(id),
            onAuthenticated: (caller) => services.accessKeys.authenticated(caller),
            limiter: new FailureLimiter(failureLimit, config.authFailureWindowSeconds * 1000),
            isDraining: () => shuttingDown,
            onAuthFailure: (reason) => metrics.authFailure(reason),
          },
        )
      : null;
  return {
    app,
    s3,
    services,
    audit,
    metrics,
    beginShutdown() {
      shuttingDown = true;
    },
    closeQuietConnections: () => {
      connections.closeQuiet();
      s3?.closeQuietConnections();
    },
  };
}
