import type { Logger } from 'pino';
import { createChangeFeed, type ChangeFeed } from './changes.js';
import { systemClock, type Clock } from './clock.js';
import type { DatabaseHandle } from './db/database.js';
import type { Config } from './config.js';
import { DEFAULT_USAGE_RETENTION_DAYS, startHousekeeping } from './housekeeping.js';
import { createSessions } from './modules/auth/sessions.service.js';
import { createClientStateCache } from './modules/oauth/client-state.js';
import { createAuthFailureRecorder } from './modules/oauth/auth-failures.js';
import { createSigningKeys } from './modules/oauth/signing-keys.js';
import { createTokenService } from './modules/oauth/token.service.js';
import { createDpopNonces } from './modules/oauth/dpop.js';
import { createTokensRepository } from './modules/oauth/tokens.repository.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createSecretHasher } from './modules/clients/clients.secret.js';
import { createClientsService } from './modules/clients/clients.service.js';
import { createClientsRepository } from './modules/clients/clients.repository.js';
import { createClientKeysRepository } from './modules/clients/client-keys.repository.js';
import { createLastUsedRecorder, type LastUsedRecorder } from './modules/clients/last-used.js';
import { createRolesService } from './modules/roles/roles.service.js';
import { createUsersService } from './modules/users/users.service.js';
import type { MasterKey } from './modules/master-key/master-key.js';
import { loadSecretKey, rotateMasterKey, sealKeysAtRest } from './modules/master-key/sealed-keys.js';
import { createThrottle, type ThrottleLimits } from './throttling/throttle.service.js';
import { createUsageRecorder } from './modules/usage/usage.recorder.js';
import { createUsageService } from './modules/usage/usage.service.js';
import { createFederationService } from './modules/federation/federation.service.js';
import { createFederationRepository } from './modules/federation/federation.repository.js';
import { createIssuerKeys } from './modules/federation/issuer-keys.js';
import { DEFAULT_FEDERATION_SETTINGS } from './modules/federation/issuer-url.js';
import { createWorkloadTokenVerifier } from './modules/federation/workload-tokens.js';
import { createRateLimiter } from './rate-limiting/rate-limiter.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';

/** What the token and client-secret rules need of the configuration (no maximum secret lifetime when absent). */
export type TokenSettings = Pick<Config, 'issuer' | 'audience' | 'accessTokenTtlSeconds'> &
  Partial<Pick<Config, 'secretMaxLifetimeDays' | 'federation' | 'dpopNonce'>>;

export interface ServicesOptions {
  readonly database: DatabaseHandle;
  readonly tokenSettings: TokenSettings;
  /** Opens the signing keys and the client-secret key, which the database holds only sealed. */
  readonly masterKey: MasterKey;
  readonly throttleLimits?: ThrottleLimits;
  readonly clientStateTtlMs?: number;
  /** The most client states cached (KOIOS_CLIENT_STATE_CACHE_SIZE). */
  readonly clientStateCacheSize?: number;
  readonly signInLimits?: Partial<ThrottleLimits>;
  readonly setupLimits?: Partial<ThrottleLimits>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly changes?: ChangeFeed;
  readonly lastUsedFlushMs?: number;
  readonly usageFlushMs?: number;
  /** Usage counters and refusals older than this many days are pruned hourly (default 90). */
  readonly usageRetentionDays?: number;
  /** How long a fetch of a federation issuer's keys may take (tests shorten it). */
  readonly issuerFetchTimeoutMs?: number;
  /** How often rate-limit counts are shared between instances; 0: only when `rateLimits.sync()` is called (tests). */
  readonly rateLimitSyncMs?: number;
  /** The instruments this instance counts into; its own Registry when absent. */
  readonly metrics?: Metrics;
}

/** Every domain service over one database; the HTTP doors and the CLI are built on this. */
export async function createServices(options: ServicesOptions) {
  const { database, logger } = options;
  const { db } = database;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? createMetrics(database);
  const changes = options.changes ?? createChangeFeed(database, logger, metrics);
  metrics.watchChangeFeed(() => changes.isLive());
  await changes.start();
  const { masterKey } = options;
  let secretKey: Buffer;
  try {
    await sealKeysAtRest({ db, dialect: database.dialect, masterKey, changes, ...(logger === undefined ? {} : { logger }) });
    secretKey = await loadSecretKey(db, masterKey);
  } catch (error) {
    await changes.stop();
    metrics.stop();
    throw error;
  }
  const hasher = createSecretHasher(secretKey);
  const lastUsed: LastUsedRecorder = createLastUsedRecorder(db, logger, options.lastUsedFlushMs);
  const roles = createRolesService({ db, clock, changes });
  await roles.ensureBuiltIns();
  const previousSecretUsed = createLastUsedRecorder(db, logger, options.lastUsedFlushMs, (trx, batch) =>
    createClientsRepository(trx).touchPreviousSecretUsed(batch),
  );
  const keyUsed = createLastUsedRecorder(db, logger, options.lastUsedFlushMs, (trx, batch) => createClientKeysRepository(trx).touchLastUsed(batch));
  const usageRecorder = createUsageRecorder(db, clock, logger, options.usageFlushMs);
  const usage = createUsageService({ db, clock, recorder: usageRecorder });
  const clients = createClientsService({
    db,
    clock,
    hasher,
    changes,
    lastUsed,
    previousSecretUsed,
    keyUsed,
    secretMaxLifetimeDays: options.tokenSettings.secretMaxLifetimeDays ?? null,
    recentRequests: { of: usage.requests7d, windowStart: usage.requestsWindowStart, flush: usageRecorder.flush, pending: usageRecorder.pendingRequests },
  });

  const signingKeys = createSigningKeys({ db, changes, clock, accessTokenTtlSeconds: options.tokenSettings.accessTokenTtlSeconds, masterKey });
  await signingKeys.start();
  const clientStates = createClientStateCache({
    db,
    changes,
    clock,
    metrics,
    ...(options.clientStateTtlMs === undefined ? {} : { ttlMs: options.clientStateTtlMs }),
    ...(options.clientStateCacheSize === undefined ? {} : { maxEntries: options.clientStateCacheSize }),
  });
  metrics.watchClientStateCache(() => clientStates.size());
  // The counters are rows, on SQLite too: every instance and process on the database counts together.
  const throttle = createThrottle(db, {
    scope: 'token',
    keepSpares: true,
    ...(options.throttleLimits === undefined ? {} : { limits: options.throttleLimits }),
  });
  const failures = createAuthFailureRecorder(db, logger, usageRecorder, undefined, metrics);
  const federationSettings = options.tokenSettings.federation ?? DEFAULT_FEDERATION_SETTINGS;
  const federatedUse = createLastUsedRecorder(db, logger, options.lastUsedFlushMs, (trx, batch) => createFederationRepository(trx).touchLastUsed(batch));
  const federation = createFederationService({ db, clock, changes, settings: federationSettings, lastUsed: federatedUse });
  const issuerKeys = createIssuerKeys({
    clock,
    allowLoopbackHttp: federationSettings.allowLoopbackHttp,
    logger,
    ...(options.issuerFetchTimeoutMs === undefined ? {} : { timeoutMs: options.issuerFetchTimeoutMs }),
  });
  // The jtis of token requests' DPoP proofs share the assertions' table (see README on DPoP).
  const dpopJtis = {
    accept: (row: { client_id: string; jti: string; expires_at: string }, now: string) => createTokensRepository(db).acceptAssertionJti(row, now),
  };
  const rateLimits = createRateLimiter({ db, clock, logger, ...(options.rateLimitSyncMs === undefined ? {} : { syncMs: options.rateLimitSyncMs }) });
  const tokens = createTokenService({
    config: options.tokenSettings,
    db,
    clock,
    hasher,
    clientStates,
    signingKeys,
    throttle,
    failures,
    rateLimits,
    changes,
    recordUse: clients.recordUse,
    // Looked up on each call, so the bench can compare with counting switched off.
    recordToken: (clientId) => usageRecorder.tokenIssued(clientId),
    workloadTokens: createWorkloadTokenVerifier({ issuerKeys, clock, settings: federationSettings }),
    recordFederatedUse: (credentialId) => federatedUse.record(credentialId, clock.now().toISOString()),
    metrics,
    recordKeyUse: clients.recordKeyUse,
    ...(options.tokenSettings.dpopNonce === true ? { dpopNonces: createDpopNonces(secretKey, clock) } : {}),
    dpopJtis,
  });
  const signInLimits = { perClient: 10, perAddress: 50, windowSeconds: 60, ...options.signInLimits };
  // One throttle for every check of a user's password: sign-in and the current password alike.
  const signInThrottle = createThrottle(db, { scope: 'sign-in', limits: signInLimits });
  // Setup-token guesses, per address only; a wrong token is a failure like a wrong password.
  const setupThrottle = createThrottle(db, { scope: 'setup', limits: { perClient: 20, perAddress: 20, windowSeconds: 300, ...options.setupLimits } });
  const users = createUsersService({ db, clock, changes, signInThrottle, setupThrottle });
  const sessions = createSessions({ db, clock, users, throttle: signInThrottle });

  const stopHousekeeping = startHousekeeping({ db, clock, logger, usageRetentionDays: options.usageRetentionDays ?? DEFAULT_USAGE_RETENTION_DAYS });

  return {
    db,
    clock,
    changes,
    metrics,
    hasher,
    lastUsed,
    keyUsed,
    roles,
    clients,
    signingKeys,
    clientStates,
    failures,
    usageRecorder,
    usage,
    rateLimits,
    tokens,
    dpopJtis,
    federation,
    users,
    sessions,
    audit: createAuditService({ db, clock }),
    /** Re-seals every key under `next`; this process's keys stay in memory, other processes must restart with `next`. */
    rotateMasterKey: (next: MasterKey) => rotateMasterKey({ db, dialect: database.dialect, current: masterKey, next }),
    /**
     * Flushes coalesced writes; call before closing the database. Last-used times and usage counts
     * are retried until `deadline` (epoch ms) while the database is away; resolves with how many were dropped.
     */
    async stop(deadline?: number): Promise<{ droppedLastUsed: number; droppedUsage: number }> {
      stopHousekeeping();
      const [droppedLastUsed, , droppedUsage] = await Promise.all([
        lastUsed.stop(deadline),
        previousSecretUsed.stop(deadline),
        usageRecorder.stop(deadline),
        federatedUse.stop(deadline),
        keyUsed.stop(deadline),
      ]);
      await Promise.all([failures.stop(), rateLimits.stop()]);
      await changes.stop();
      metrics.stop();
      return { droppedLastUsed, droppedUsage };
    },
  };
}

export type Services = Awaited<ReturnType<typeof createServices>>;
