import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, readEnvironment } from './config.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
const SERVER_ENTRY = join(REPO_ROOT, 'src/server/main.ts');

/** The ConfigError that loading `env` throws (the test fails when it does not throw one). */
function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

describe('loadConfig', () => {
  it('applies the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.database).toEqual({ dialect: 'sqlite', path: './data/koios.db', url: 'file:./data/koios.db' });
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(3000);
    expect(config.issuer).toBe('http://127.0.0.1:3000');
    expect(config.audience).toBe(config.issuer);
    expect(config.accessTokenTtlSeconds).toBe(3600);
    expect(config.admin).toBeNull();
    expect(config.logLevel).toBe('info');
    expect(config.trustProxy).toEqual([]);
    expect(config.databasePool).toEqual({ size: 10, connectTimeoutMs: 1000, statementTimeoutMs: 1500, idleTransactionTimeoutMs: 5000 });
    expect(config.sqliteBusyTimeoutMs).toBe(5000);
    expect(config.shutdownTimeoutMs).toBe(10_000);
    expect(config.metrics).toBeNull();
    expect(config.clientStateCacheSize).toBe(100_000);
    expect(config.usageRetentionDays).toBe(90);
  });

  it('reads how many days of usage figures are kept', () => {
    expect(loadConfig({ KOIOS_USAGE_RETENTION_DAYS: '30' }).usageRetentionDays).toBe(30);
    expect(loadConfig({ KOIOS_USAGE_RETENTION_DAYS: '3650' }).usageRetentionDays).toBe(3650);
  });

  it('reads the client-state cache size', () => {
    expect(loadConfig({ KOIOS_CLIENT_STATE_CACHE_SIZE: '250000' }).clientStateCacheSize).toBe(250_000);
  });

  it('opens the metrics listener only with KOIOS_METRICS_PORT, on loopback unless told otherwise', () => {
    expect(loadConfig({ KOIOS_METRICS_PORT: '9464' }).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ KOIOS_METRICS_PORT: '9464', KOIOS_METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(Object.isFrozen(loadConfig({ KOIOS_METRICS_PORT: '9464' }).metrics)).toBe(true);
  });

  it('reads the federation issuer allowlist, https only unless loopback http is switched on for tests', () => {
    expect(loadConfig({}).federation).toEqual({ allowLoopbackHttp: false, issuers: null });
    const listed = loadConfig({ KOIOS_FEDERATION_ISSUERS: 'https://token.actions.githubusercontent.com, https://gitlab.com' }).federation;
    expect(listed.issuers).toEqual(['https://token.actions.githubusercontent.com', 'https://gitlab.com']);
    expect(configErrorOf({ KOIOS_FEDERATION_ISSUERS: 'http://127.0.0.1:8080' }).variable).toBe('KOIOS_FEDERATION_ISSUERS');
    const loopback = { KOIOS_FEDERATION_ISSUERS: 'http://127.0.0.1:8080', KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP: 'true' };
    expect(loadConfig(loopback).federation).toEqual({ allowLoopbackHttp: true, issuers: ['http://127.0.0.1:8080'] });
    expect(configErrorOf({ KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP: 'yes' }).variable).toBe('KOIOS_FEDERATION_ALLOW_LOOPBACK_HTTP');
  });

  it('switches DPoP server nonces on only when told, and refuses a value that is not true or false', () => {
    expect(loadConfig({}).dpopNonce).toBe(false);
    expect(loadConfig({ KOIOS_DPOP_NONCE: 'true' }).dpopNonce).toBe(true);
    expect(loadConfig({ KOIOS_DPOP_NONCE: 'FALSE' }).dpopNonce).toBe(false);
    expect(configErrorOf({ KOIOS_DPOP_NONCE: '1' }).variable).toBe('KOIOS_DPOP_NONCE');
  });

  it('reads the SQLite busy timeout and the shutdown deadline in milliseconds', () => {
    const config = loadConfig({ KOIOS_SQLITE_BUSY_TIMEOUT_MS: '250', KOIOS_SHUTDOWN_TIMEOUT_MS: '30000' });
    expect(config.sqliteBusyTimeoutMs).toBe(250);
    expect(config.shutdownTimeoutMs).toBe(30_000);
    expect(loadConfig({ KOIOS_SQLITE_BUSY_TIMEOUT_MS: '0' }).sqliteBusyTimeoutMs).toBe(0);
  });

  it('reads the PostgreSQL pool size and database timeouts', () => {
    const config = loadConfig({
      KOIOS_DATABASE_POOL_SIZE: '25',
      KOIOS_DATABASE_CONNECT_TIMEOUT_MS: '2000',
      KOIOS_DATABASE_STATEMENT_TIMEOUT_MS: '30000',
      KOIOS_DATABASE_IDLE_TRANSACTION_TIMEOUT_MS: '60000',
    });
    expect(config.databasePool).toEqual({ size: 25, connectTimeoutMs: 2000, statementTimeoutMs: 30_000, idleTransactionTimeoutMs: 60_000 });
  });

  it('treats empty and blank values as unset', () => {
    const config = loadConfig({ KOIOS_DATABASE_URL: '', HOST: '  ', PORT: '', KOIOS_LOG_LEVEL: ' ', KOIOS_ADMIN_EMAIL: '', KOIOS_ADMIN_PASSWORD: '' });
    expect(config).toEqual(loadConfig({}));
  });

  it('derives the issuer from HOST and PORT, and the audience from the issuer', () => {
    const config = loadConfig({ HOST: '0.0.0.0', PORT: '8080' });
    expect(config.issuer).toBe('http://0.0.0.0:8080');
    expect(config.audience).toBe('http://0.0.0.0:8080');
    expect(loadConfig({ HOST: '::1', PORT: '8080' }).issuer).toBe('http://[::1]:8080');
  });

  it('takes an explicit issuer without its trailing slash, and an explicit audience as given', () => {
    const config = loadConfig({ KOIOS_ISSUER: 'https://auth.example.com/', KOIOS_AUDIENCE: 'https://api.example.com' });
    expect(config.issuer).toBe('https://auth.example.com');
    expect(config.audience).toBe('https://api.example.com');
  });

  it('selects SQLite for file: and PostgreSQL for postgres:// and postgresql://', () => {
    expect(loadConfig({ KOIOS_DATABASE_URL: 'file:/var/lib/koios/k.db' }).database).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/koios/k.db',
      url: 'file:/var/lib/koios/k.db',
    });
    for (const url of ['postgres://koios:secret@db.internal:5432/koios', 'postgresql://db.internal/koios']) {
      expect(loadConfig({ KOIOS_DATABASE_URL: url }).database).toEqual({ dialect: 'postgres', url });
    }
  });

  it('reads the token lifetime, the log level in any case, the admin pair and trusted proxies', () => {
    const config = loadConfig({
      KOIOS_ACCESS_TOKEN_TTL: '600',
      KOIOS_LOG_LEVEL: 'DEBUG',
      KOIOS_ADMIN_EMAIL: 'ops@example.com',
      KOIOS_ADMIN_PASSWORD: 'a long passphrase',
      KOIOS_TRUST_PROXY: ' 10.0.0.1, 192.168.0.0/16 ,,',
    });
    expect(config.accessTokenTtlSeconds).toBe(600);
    expect(config.logLevel).toBe('debug');
    expect(config.admin).toEqual({ email: 'ops@example.com', password: 'a long passphrase' });
    expect(config.trustProxy).toEqual(['10.0.0.1', '192.168.0.0/16']);
  });

  it('returns a frozen configuration that nobody can change afterwards', () => {
    const config = loadConfig({ KOIOS_ADMIN_EMAIL: 'ops@example.com', KOIOS_ADMIN_PASSWORD: 'a long passphrase' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
    expect(Object.isFrozen(config.admin)).toBe(true);
    expect(Object.isFrozen(config.trustProxy)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(3000);
  });

  const badValues: [string, Record<string, string>, string][] = [
    ['an unknown database URL scheme', { KOIOS_DATABASE_URL: 'mysql://root@localhost/koios' }, 'KOIOS_DATABASE_URL'],
    ['file: without a path', { KOIOS_DATABASE_URL: 'file:' }, 'KOIOS_DATABASE_URL'],
    ['a non-numeric port', { PORT: 'abc' }, 'PORT'],
    ['a negative port', { PORT: '-1' }, 'PORT'],
    ['a port above 65535', { PORT: '70000' }, 'PORT'],
    ['a non-numeric token lifetime', { KOIOS_ACCESS_TOKEN_TTL: 'an hour' }, 'KOIOS_ACCESS_TOKEN_TTL'],
    ['a fractional token lifetime', { KOIOS_ACCESS_TOKEN_TTL: '3600.5' }, 'KOIOS_ACCESS_TOKEN_TTL'],
    ['a token lifetime under a minute', { KOIOS_ACCESS_TOKEN_TTL: '59' }, 'KOIOS_ACCESS_TOKEN_TTL'],
    ['a token lifetime over a day', { KOIOS_ACCESS_TOKEN_TTL: '86401' }, 'KOIOS_ACCESS_TOKEN_TTL'],
    ['an issuer that is not a URL', { KOIOS_ISSUER: 'auth.example.com' }, 'KOIOS_ISSUER'],
    ['an ftp: issuer', { KOIOS_ISSUER: 'ftp://auth.example.com' }, 'KOIOS_ISSUER'],
    ['an issuer with a query', { KOIOS_ISSUER: 'https://auth.example.com/?tenant=1' }, 'KOIOS_ISSUER'],
    ['an issuer with a fragment', { KOIOS_ISSUER: 'https://auth.example.com/#top' }, 'KOIOS_ISSUER'],
    ['a pool of no connections', { KOIOS_DATABASE_POOL_SIZE: '0' }, 'KOIOS_DATABASE_POOL_SIZE'],
    ['a connect timeout in seconds', { KOIOS_DATABASE_CONNECT_TIMEOUT_MS: '1s' }, 'KOIOS_DATABASE_CONNECT_TIMEOUT_MS'],
    ['a statement timeout of zero', { KOIOS_DATABASE_STATEMENT_TIMEOUT_MS: '0' }, 'KOIOS_DATABASE_STATEMENT_TIMEOUT_MS'],
    ['a negative idle-transaction timeout', { KOIOS_DATABASE_IDLE_TRANSACTION_TIMEOUT_MS: '-5' }, 'KOIOS_DATABASE_IDLE_TRANSACTION_TIMEOUT_MS'],
    ['an unknown log level', { KOIOS_LOG_LEVEL: 'verbose' }, 'KOIOS_LOG_LEVEL'],
    ['an admin email without a password', { KOIOS_ADMIN_EMAIL: 'ops@example.com' }, 'KOIOS_ADMIN_PASSWORD'],
    ['an admin password without an email', { KOIOS_ADMIN_PASSWORD: 'a long passphrase' }, 'KOIOS_ADMIN_EMAIL'],
    ['a busy timeout in words', { KOIOS_SQLITE_BUSY_TIMEOUT_MS: '5s' }, 'KOIOS_SQLITE_BUSY_TIMEOUT_MS'],
    ['a busy timeout over ten minutes', { KOIOS_SQLITE_BUSY_TIMEOUT_MS: '600001' }, 'KOIOS_SQLITE_BUSY_TIMEOUT_MS'],
    ['a negative shutdown deadline', { KOIOS_SHUTDOWN_TIMEOUT_MS: '-1' }, 'KOIOS_SHUTDOWN_TIMEOUT_MS'],
    ['a shutdown deadline under 100 ms', { KOIOS_SHUTDOWN_TIMEOUT_MS: '50' }, 'KOIOS_SHUTDOWN_TIMEOUT_MS'],
    ['a usage retention of no days', { KOIOS_USAGE_RETENTION_DAYS: '0' }, 'KOIOS_USAGE_RETENTION_DAYS'],
    ['a usage retention over ten years', { KOIOS_USAGE_RETENTION_DAYS: '3651' }, 'KOIOS_USAGE_RETENTION_DAYS'],
    ['a usage retention in words', { KOIOS_USAGE_RETENTION_DAYS: '90d' }, 'KOIOS_USAGE_RETENTION_DAYS'],
    ['a client-state cache of ten entries', { KOIOS_CLIENT_STATE_CACHE_SIZE: '10' }, 'KOIOS_CLIENT_STATE_CACHE_SIZE'],
    ['a non-numeric metrics port', { KOIOS_METRICS_PORT: 'prometheus' }, 'KOIOS_METRICS_PORT'],
    ['the metrics port on the API port', { PORT: '8080', KOIOS_METRICS_PORT: '8080' }, 'KOIOS_METRICS_PORT'],
    ['a metrics host without a metrics port', { KOIOS_METRICS_HOST: '0.0.0.0' }, 'KOIOS_METRICS_HOST'],
  ];

  it.each(badValues)('refuses %s with one line naming the variable', (_what, env, variable) => {
    const error = configErrorOf(env);
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message.length).toBeGreaterThan(variable.length + 2);
  });

  it('does not echo the admin password in its error', () => {
    const error = configErrorOf({ KOIOS_ADMIN_PASSWORD: 'hunter2-but-longer' });
    expect(error.message).not.toContain('hunter2-but-longer');
  });
});

describe('readEnvironment', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'koios-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a .env file in the working directory, and the real environment wins over it', () => {
    writeFileSync(join(dir, '.env'), ['# comment', 'PORT=4000', 'KOIOS_LOG_LEVEL=debug', 'KOIOS_ISSUER="https://auth.example.com"', ''].join('\n'));
    const env = readEnvironment(dir, { PORT: '5000', UNRELATED: 'x' });
    expect(env['PORT']).toBe('5000');
    expect(env['KOIOS_LOG_LEVEL']).toBe('debug');
    expect(env['KOIOS_ISSUER']).toBe('https://auth.example.com');
    expect(env['UNRELATED']).toBe('x');
    const config = loadConfig(env);
    expect(config.port).toBe(5000);
    expect(config.logLevel).toBe('debug');
    expect(config.issuer).toBe('https://auth.example.com');
  });

  it('works without a .env file', () => {
    const empty = mkdtempSync(join(tmpdir(), 'koios-config-'));
    try {
      expect(readEnvironment(empty, { PORT: '5000' })).toEqual({ PORT: '5000' });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

/** The environment of this process without anything that configures Koios, plus `overrides`. */
function cleanEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('KOIOS_') && key !== 'HOST' && key !== 'PORT' && !key.startsWith('NODE_') && !key.startsWith('VITEST')) env[key] = value;
  }
  return { ...env, ...overrides };
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real server entry from source, in an empty working directory (so no .env applies). */
function runServerEntry(cwd: string, env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, SERVER_ENTRY], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the server entry with bad configuration', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'koios-start-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  const startups: [string, Record<string, string>, string][] = [
    ['a non-numeric port', { PORT: 'abc' }, 'PORT'],
    ['an unknown database URL scheme', { KOIOS_DATABASE_URL: 'mysql://root@127.0.0.1/koios' }, 'KOIOS_DATABASE_URL'],
    ['an unreachable database', { KOIOS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' }, 'KOIOS_DATABASE_URL'],
  ];

  it.each(startups)('stops start-up on %s with a non-zero exit and one stderr line naming the variable', async (_what, env, variable) => {
    const { code, stderr } = await runServerEntry(cwd, { ...env, PORT: env['PORT'] ?? '0', KOIOS_LOG_LEVEL: 'info' });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = stderr.split('\n').filter((line) => line.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(stderr.endsWith('\n')).toBe(true);
  });
});
