import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseEnv } from 'node:util';
import { MASTER_KEY_FORMAT, parseMasterKey, type MasterKeySource } from './modules/master-key/master-key.js';
import { fetchableUrlProblem, type FederationSettings } from './modules/federation/issuer-url.js';

/**
 * The only reader of the environment. `loadConfig` parses once into a frozen
 * object; a bad value throws a ConfigError whose message is one line naming the variable.
 */
export interface Config {
  /** Which database every command talks to: SQLite for `file:`, PostgreSQL for `postgres://`. */
  readonly database: DatabaseConfig;
  /** PostgreSQL only: pool size and the limits on every wait for the database. */
  readonly databasePool: DatabasePoolConfig;
  /** Where the HTTP server listens. */
  readonly host: string;
  readonly port: number;
  /** Token `iss` and the base of every metadata URL; no trailing slash. */
  readonly issuer: string;
  /** The `aud` of access tokens: the identifier of the Koios APIs. */
  readonly audience: string;
  /** Access-token lifetime in seconds; also how long a retired signing key keeps verifying. */
  readonly accessTokenTtlSeconds: number;
  /** The longest a new client secret may live, in days; new secrets expire after it unless told sooner. Null: no maximum. */
  readonly secretMaxLifetimeDays: number | null;
  /** The first Administrator, created at start when no user exists yet. */
  readonly admin: { readonly email: string; readonly password: string } | null;
  /** pino level for the server's logs. */
  readonly logLevel: LogLevel;
  /** Proxies whose X-Forwarded-For is believed; empty: the socket address is the client. */
  readonly trustProxy: readonly string[];
  /** SQLite: how long a write waits for a lock another process holds before answering 503. */
  readonly sqliteBusyTimeoutMs: number;
  /** SIGTERM/SIGINT: how long in-flight requests and the last writes get before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  /** The key that seals the signing keys and the client-secret key in the database. */
  readonly masterKey: MasterKeySource;
  /** How many days of per-client usage counters and refusals are kept; older ones are pruned hourly. */
  readonly usageRetentionDays: number;
  /** The most client states each instance caches (the least recently used are dropped first): bounds its memory. */
  readonly clientStateCacheSize: number;
  /**
   * Workload identity federation: KOIOS_FEDERATION_ISSUERS, the only OIDC issuers a federated
   * credential may name (comma-separated; unset: any https:// issuer), and
   * KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP, which lets tests use an http:// issuer on loopback.
   */
  readonly federation: FederationSettings;
  /** Where Prometheus scrapes `GET /metrics`, apart from the API port; null: no listener, and requests are not timed. */
  readonly metrics: MetricsListenerConfig | null;
  /**
   * KOIOS_DPOP_NONCE: DPoP proofs must carry a server-provided nonce (RFC 9449 §8, §9), which
   * bounds how long a captured proof can be played again; clients then retry once on use_dpop_nonce.
   */
  readonly dpopNonce: boolean;
}

/**
 * The default of KOIOS_CLIENT_STATE_CACHE_SIZE: the most client states kept, of those read in the
 * last CLIENT_STATE_TTL_MS (older ones never answer and are dropped): 100,000 clients calling
 * within those 10 seconds are all cached (README, "Many active clients").
 */
export const CLIENT_STATE_CACHE_SIZE = 100_000;

export interface MetricsListenerConfig {
  /** Loopback by default: the figures describe traffic and are for the operator's scraper alone. */
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

export type DatabaseConfig =
  { readonly dialect: 'sqlite'; readonly path: string; readonly url: string } | { readonly dialect: 'postgres'; readonly url: string };

/**
 * How long a request may wait on PostgreSQL before it is answered 503. A frozen or unreachable
 * server never answers, so each wait has a bound of its own.
 */
export interface DatabasePoolConfig {
  /** Connections per process; every instance opens its own pool plus one LISTEN connection. */
  readonly size: number;
  /** Opening a connection, or waiting for a free one in the pool. */
  readonly connectTimeoutMs: number;
  /** Server-side `statement_timeout`; the client gives up 500 ms later if the server never answers. */
  readonly statementTimeoutMs: number;
  /** Server-side `idle_in_transaction_session_timeout`: a transaction left open by a stalled process is ended. */
  readonly idleTransactionTimeoutMs: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** The process environment over a `.env` file in the working directory (the environment wins). */
export function readEnvironment(cwd = process.cwd(), env: Env = process.env): Env {
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseEnv(readFileSync(`${cwd}/.env`, 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError('.env', `cannot be read (${(error as Error).message})`);
  }
  return { ...fromFile, ...env };
}

export function loadConfig(env: Env = readEnvironment()): Config {
  const value = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };

  const database = parseDatabaseUrl(value('KOIOS_DATABASE_URL') ?? 'file:./data/koios.db');
  const databasePool: DatabasePoolConfig = {
    size: parseInteger('KOIOS_DATABASE_POOL_SIZE', value('KOIOS_DATABASE_POOL_SIZE') ?? '10', 1, 1000),
    connectTimeoutMs: parseInteger('KOIOS_DATABASE_CONNECT_TIMEOUT_MS', value('KOIOS_DATABASE_CONNECT_TIMEOUT_MS') ?? '1000', 100, 600_000),
    statementTimeoutMs: parseInteger('KOIOS_DATABASE_STATEMENT_TIMEOUT_MS', value('KOIOS_DATABASE_STATEMENT_TIMEOUT_MS') ?? '1500', 100, 3_600_000),
    idleTransactionTimeoutMs: parseInteger(
      'KOIOS_DATABASE_IDLE_TRANSACTION_TIMEOUT_MS',
      value('KOIOS_DATABASE_IDLE_TRANSACTION_TIMEOUT_MS') ?? '5000',
      100,
      3_600_000,
    ),
  };
  const host = value('HOST') ?? '127.0.0.1';
  const port = parseInteger('PORT', value('PORT') ?? '3000', 0, 65535);
  const defaultIssuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const issuer = parseHttpUrl('KOIOS_ISSUER', value('KOIOS_ISSUER') ?? defaultIssuer);
  const audience = value('KOIOS_AUDIENCE') ?? issuer;
  const accessTokenTtlSeconds = parseInteger('KOIOS_ACCESS_TOKEN_TTL', value('KOIOS_ACCESS_TOKEN_TTL') ?? '3600', 60, 86_400);

  const maxLifetime = value('KOIOS_SECRET_MAX_LIFETIME_DAYS');
  const secretMaxLifetimeDays = maxLifetime === undefined ? null : parseInteger('KOIOS_SECRET_MAX_LIFETIME_DAYS', maxLifetime, 1, 36_500);

  const adminEmail = value('KOIOS_ADMIN_EMAIL');
  const adminPassword = env['KOIOS_ADMIN_PASSWORD'] === '' ? undefined : env['KOIOS_ADMIN_PASSWORD'];
  if ((adminEmail === undefined) !== (adminPassword === undefined)) {
    throw new ConfigError(adminEmail === undefined ? 'KOIOS_ADMIN_EMAIL' : 'KOIOS_ADMIN_PASSWORD', 'must be set together with the other KOIOS_ADMIN_ variable');
  }

  const logLevel = (value('KOIOS_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('KOIOS_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const trustProxy = (value('KOIOS_TRUST_PROXY') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);

  const sqliteBusyTimeoutMs = parseInteger('KOIOS_SQLITE_BUSY_TIMEOUT_MS', value('KOIOS_SQLITE_BUSY_TIMEOUT_MS') ?? '5000', 0, 600_000);
  const shutdownTimeoutMs = parseInteger('KOIOS_SHUTDOWN_TIMEOUT_MS', value('KOIOS_SHUTDOWN_TIMEOUT_MS') ?? '10000', 100, 600_000);
  const masterKey = parseMasterKeySource(value('KOIOS_MASTER_KEY'), value('KOIOS_MASTER_KEY_FILE'), database);
  const usageRetentionDays = parseInteger('KOIOS_USAGE_RETENTION_DAYS', value('KOIOS_USAGE_RETENTION_DAYS') ?? '90', 1, 3650);
  const clientStateCacheSize = parseInteger(
    'KOIOS_CLIENT_STATE_CACHE_SIZE',
    value('KOIOS_CLIENT_STATE_CACHE_SIZE') ?? String(CLIENT_STATE_CACHE_SIZE),
    100,
    10_000_000,
  );
  const federation = parseFederation(value('KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP'), value('KOIOS_FEDERATION_ISSUERS'));
  const metrics = parseMetricsListener(value('KOIOS_METRICS_PORT'), value('KOIOS_METRICS_HOST'), port);
  const dpopNonce = parseBoolean('KOIOS_DPOP_NONCE', value('KOIOS_DPOP_NONCE'), false);

  return Object.freeze({
    database: Object.freeze(database),
    databasePool: Object.freeze(databasePool),
    host,
    port,
    issuer,
    audience,
    accessTokenTtlSeconds,
    secretMaxLifetimeDays,
    admin: adminEmail !== undefined && adminPassword !== undefined ? Object.freeze({ email: adminEmail, password: adminPassword }) : null,
    logLevel: logLevel as LogLevel,
    trustProxy: Object.freeze(trustProxy),
    sqliteBusyTimeoutMs,
    shutdownTimeoutMs,
    masterKey: Object.freeze(masterKey),
    usageRetentionDays,
    clientStateCacheSize,
    federation,
    metrics: metrics === null ? null : Object.freeze(metrics),
    dpopNonce,
  });
}

function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (lower !== 'true' && lower !== 'false') throw new ConfigError(name, `must be true or false, got "${raw}"`);
  return lower === 'true';
}

/** KOIOS_METRICS_PORT turns the listener on; KOIOS_METRICS_HOST alone does nothing, so it is refused rather than ignored. */
function parseMetricsListener(portText: string | undefined, hostText: string | undefined, apiPort: number): MetricsListenerConfig | null {
  if (portText === undefined) {
    if (hostText !== undefined) throw new ConfigError('KOIOS_METRICS_HOST', 'has no effect without KOIOS_METRICS_PORT');
    return null;
  }
  const port = parseInteger('KOIOS_METRICS_PORT', portText, 0, 65535);
  const host = hostText ?? '127.0.0.1';
  // The API port must never answer /metrics.
  if (port !== 0 && port === apiPort) {
    throw new ConfigError('KOIOS_METRICS_PORT', `must differ from PORT (${apiPort})`);
  }
  return { host, port };
}

/**
 * KOIOS_MASTER_KEY (the key itself) or KOIOS_MASTER_KEY_FILE (a file holding it); with neither,
 * the key file `master.key` beside the SQLite database, or `./data/master.key` on PostgreSQL.
 */
function parseMasterKeySource(text: string | undefined, file: string | undefined, database: DatabaseConfig): MasterKeySource {
  if (text !== undefined && file !== undefined) throw new ConfigError('KOIOS_MASTER_KEY', 'set either KOIOS_MASTER_KEY or KOIOS_MASTER_KEY_FILE, not both');
  if (text !== undefined) {
    const bytes = parseMasterKey(text);
    if (bytes === null) throw new ConfigError('KOIOS_MASTER_KEY', MASTER_KEY_FORMAT);
    // A function, not the bytes: the configuration object can then be printed without the key.
    return { kind: 'value', key: () => Buffer.from(bytes) };
  }
  if (file !== undefined) return { kind: 'file', path: file, configured: true };
  const beside = database.dialect === 'sqlite' && database.path !== ':memory:' ? dirname(database.path) : './data';
  return { kind: 'file', path: join(beside, 'master.key'), configured: false };
}

function parseFederation(loopback: string | undefined, issuers: string | undefined): FederationSettings {
  const lower = loopback?.toLowerCase() ?? 'false';
  if (lower !== 'true' && lower !== 'false') throw new ConfigError('KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP', `must be true or false, got "${loopback}"`);
  const allowLoopbackHttp = lower === 'true';
  const list =
    issuers === undefined
      ? null
      : issuers
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry.length > 0);
  for (const issuer of list ?? []) {
    const problem = fetchableUrlProblem(issuer, allowLoopbackHttp);
    if (problem !== null) throw new ConfigError('KOIOS_FEDERATION_ISSUERS', `${issuer} ${problem}`);
  }
  return Object.freeze({ allowLoopbackHttp, issuers: list === null ? null : Object.freeze(list) });
}

function parseDatabaseUrl(url: string): DatabaseConfig {
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length);
    if (path.length === 0) throw new ConfigError('KOIOS_DATABASE_URL', 'file: needs a path, e.g. file:./data/koios.db');
    return { dialect: 'sqlite', path, url };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    try {
      new URL(url);
    } catch {
      throw new ConfigError('KOIOS_DATABASE_URL', 'is not a valid postgres:// URL');
    }
    return { dialect: 'postgres', url };
  }
  throw new ConfigError('KOIOS_DATABASE_URL', 'must start with file: (SQLite) or postgres:// (PostgreSQL)');
}

function parseInteger(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const parsed = Number(raw);
  if (parsed < min || parsed > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${parsed}`);
  return parsed;
}

function parseHttpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, 'must use http: or https:');
  if (url.search !== '' || url.hash !== '') throw new ConfigError(name, 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

/** The database URL with any password removed, for log lines. */
export function redactDatabaseUrl(database: DatabaseConfig): string {
  if (database.dialect === 'sqlite') return database.url;
  const url = new URL(database.url);
  if (url.password !== '') url.password = '***';
  return url.href;
}
