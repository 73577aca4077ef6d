import { spawn } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { ConfigError, loadConfig } from '../../config.js';
import { migrations } from '../../db/migrations/index.js';
import { createSecretHasher } from '../clients/clients.secret.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import { clientRow, insertClientRows } from '../../../../test/support/client-rows.js';
import { LogCapture, startTestServer, type TestServer } from '../../../../test/support/server.js';
import { createLogger } from '../../logger.js';
import { createMasterKey, loadMasterKey, readKeyFile, type MasterKey } from './master-key.js';
import { loadSecretKey, MASTER_KEY_ID_SETTING, signingKeyPurpose } from './sealed-keys.js';

/*
 * Keys at rest: what someone holding a copy of the database (or a backup) without the master key
 * can do with it (nothing that mints a token), what the operator sees with a wrong key, and how
 * the master key is rotated and an older, plaintext database sealed.
 */

const CLI_ENTRY = fileURLToPath(new URL('../../../../bin/koios.js', import.meta.url));
const randomKey = (): MasterKey => createMasterKey(randomBytes(32), 'KOIOS_MASTER_KEY');

/** Every form a key's bytes could be written in: raw, hex, base64, base64url. */
function formsOf(bytes: Buffer): Buffer[] {
  return [bytes, ...['hex', 'base64', 'base64url'].map((encoding) => Buffer.from(bytes.toString(encoding as BufferEncoding), 'utf8'))];
}

/** Everything the database stores: the SQLite files byte for byte, or every PostgreSQL row as text. */
async function storedBytes(database: TestDatabase): Promise<Buffer> {
  if (database.dialect === 'sqlite') {
    const directory = dirname(database.location);
    return Buffer.concat(
      readdirSync(directory)
        .filter((name) => name.startsWith('koios.db'))
        .map((name) => readFileSync(join(directory, name))),
    );
  }
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${database.location} and table_type = 'BASE TABLE'
  `.execute(database.handle.db);
  const parts: string[] = [];
  for (const { table_name: table } of tables.rows) {
    const dump = await sql<{ row: string }>`select t::text as row from ${sql.table(`${database.location}.${table}`)} as t`.execute(database.handle.db);
    parts.push(...dump.rows.map((row) => row.row));
  }
  return Buffer.from(parts.join('\n'), 'utf8');
}

function spawnKoios(env: Record<string, string>, args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('KOIOS_') && !key.startsWith('NODE_') && !key.startsWith('VITEST')) clean[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd,
      env: { ...clean, KOIOS_LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
function signToken(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${sign(null, Buffer.from(input, 'ascii'), key).toString('base64url')}`;
}

/** Every private key an attacker could read straight out of a stored value, however encoded. */
function keysReadableFrom(value: string): KeyObject[] {
  const found: KeyObject[] = [];
  const attempts: (() => KeyObject)[] = [
    () => createPrivateKey(value),
    ...(['base64', 'base64url', 'hex'] as const).flatMap((encoding) =>
      (['pkcs8', 'sec1', 'pkcs1'] as const).map((type) => () => createPrivateKey({ key: Buffer.from(value, encoding), format: 'der', type })),
    ),
    () => createPrivateKey({ key: JSON.parse(value) as Record<string, string> & { kty: string }, format: 'jwk' }),
  ];
  for (const attempt of attempts) {
    try {
      found.push(attempt());
    } catch {
      // Not a key in this form.
    }
  }
  return found;
}

describe.each(testDialects())('keys at rest on %s', (dialect) => {
  let server: TestServer;
  let admin: { id: string; secret: string };
  let genuine: string;

  const usersWith = async (token: string) => (await fetch(`${server.url}/api/v1/users`, { headers: { authorization: `Bearer ${token}` } })).status;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const created = await server.services.clients.create(SYSTEM_ACTOR, {
      name: 'Keys at rest admin',
      roleId: (await server.services.roles.resolve(SYSTEM_ACTOR, 'Administrator')).id,
    });
    admin = { id: created.client.id, secret: created.clientSecret };
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: admin.id, client_secret: admin.secret }),
    });
    genuine = ((await response.json()) as { access_token: string }).access_token;
    // Two keys, so that retired keys are looked at too.
    await server.services.signingKeys.rotate(SYSTEM_ACTOR);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('hold the signing keys and the client-secret key only sealed: no PEM and no key bytes in any encoding, anywhere in the database', async () => {
    const stored = await storedBytes(server.database);
    const rows = await server.services.db.selectFrom('signing_keys').selectAll().execute();
    expect(rows.length).toBe(2);
    expect(stored.includes(Buffer.from('PRIVATE KEY', 'utf8'))).toBe(false);
    const secrets: { what: string; bytes: Buffer }[] = [
      { what: 'client-secret key', bytes: await loadSecretKey(server.services.db, server.database.masterKey) },
    ];
    for (const row of rows) {
      const opened = server.database.masterKey.open(row.private_key, signingKeyPurpose(row.kid));
      const privateKey = createPrivateKey({ key: opened, format: 'der', type: 'pkcs8' });
      secrets.push({ what: `signing key ${row.kid} (PKCS #8)`, bytes: opened });
      secrets.push({ what: `signing key ${row.kid} (seed)`, bytes: Buffer.from((privateKey.export({ format: 'jwk' }) as { d: string }).d, 'base64url') });
    }
    for (const { what, bytes } of secrets) {
      for (const form of formsOf(bytes)) expect({ what, found: stored.includes(form) }).toEqual({ what, found: false });
    }
  });

  it('leave a copy of the database without the master key nothing that signs a token the server accepts', async () => {
    const [header, claims] = genuine
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
    const kid = server.services.signingKeys.current().kid;
    const candidates = [
      ...(await server.services.db.selectFrom('signing_keys').selectAll().execute()).flatMap((row) => Object.values(row)),
      ...(await server.services.db.selectFrom('settings').selectAll().execute()).map((row) => row.value),
    ].filter((value): value is string => typeof value === 'string');
    const readable = candidates.flatMap(keysReadableFrom);
    expect(readable).toEqual([]);
    // Had a key been readable, this is what it would have taken to get in: the check above is the whole defence.
    const opened = await server.services.signingKeys.forKid(kid);
    expect(await usersWith(signToken({ ...header, kid }, { ...claims, jti: 'forged-with-the-real-key' }, opened!.privateKey))).toBe(200);
  });

  it('refuse to start over the same database with another master key: one line naming the variable, and nothing changed', async () => {
    const before = await server.services.db.selectFrom('settings').selectAll().orderBy('key').execute();
    const attempt = createTestServices(server.database, { masterKey: randomKey() });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      /^KOIOS_MASTER_KEY: the master key does not open this database's keys \(they are sealed under master key [\w-]+, this key is [\w-]+\)$/,
    );
    expect(await server.services.db.selectFrom('settings').selectAll().orderBy('key').execute()).toEqual(before);
  });

  it('make the CLI stop with one line on stderr and exit 1 when given a wrong master key', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'koios-master-key-cwd-'));
    try {
      const run = await spawnKoios({ ...server.database.env, KOIOS_MASTER_KEY: randomBytes(32).toString('hex') }, ['roles', 'list', '--json'], cwd);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^koios: KOIOS_MASTER_KEY: the master key does not open this database's keys/)]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe.each(testDialects())('the master key file on %s', (dialect) => {
  let database: TestDatabase;
  let root: string;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    root = mkdtempSync(join(tmpdir(), 'koios-key-file-'));
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('is generated on first start (0600, in a folder made 0700), read on later starts, and never generated for a database sealed under another key', async () => {
    const path = join(root, 'keys', 'master.key');
    const source = { kind: 'file', path, configured: false } as const;
    const umask = process.umask(0o022);
    let first: MasterKey;
    try {
      first = loadMasterKey(source, null);
    } finally {
      process.umask(umask);
    }
    expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(dirname(path)).mode & 0o777).toString(8)).toBe('700');
    expect(loadMasterKey(source, first.id).id).toBe(first.id);
    expect(readdirSync(dirname(path))).toEqual(['master.key']);
    // A key file others can read is used, and reported.
    chmodSync(path, 0o644);
    const logs = new LogCapture();
    expect(loadMasterKey(source, first.id, createLogger('info', logs)).id).toBe(first.id);
    expect(logs.text()).toContain('the master key file can be read by other users of this host');
    chmodSync(path, 0o600);
    const services = await createTestServices(database, { masterKey: first });
    await services.stop();

    rmSync(path);
    const stored = (await database.handle.db.selectFrom('settings').select('value').where('key', '=', MASTER_KEY_ID_SETTING).executeTakeFirstOrThrow()).value;
    expect(stored).toBe(first.id);
    expect(() => loadMasterKey(source, stored)).toThrow(
      new ConfigError(
        'KOIOS_MASTER_KEY',
        `is not set and the key file ${path} does not exist, but this database's keys are sealed under master key ${first.id}: give that key`,
      ),
    );
    expect(existsSync(path)).toBe(false);
  });
});

describe('KOIOS_MASTER_KEY and KOIOS_MASTER_KEY_FILE', () => {
  const keyOf = (env: Record<string, string>) => {
    const source = loadConfig({ KOIOS_DATABASE_URL: 'file:/srv/koios/koios.db', ...env }).masterKey;
    return source;
  };

  it('take 32 bytes as hex, base64 or base64url, all naming the same key', () => {
    const bytes = randomBytes(32);
    const ids = [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')].map((text) => {
      const source = keyOf({ KOIOS_MASTER_KEY: text });
      if (source.kind !== 'value') throw new Error('expected a key value');
      return createMasterKey(source.key(), 'KOIOS_MASTER_KEY').id;
    });
    expect(new Set(ids).size).toBe(1);
  });

  it('refuse anything else with one line naming the variable, and never echo the value', () => {
    for (const bad of ['short', randomBytes(16).toString('hex'), randomBytes(33).toString('base64'), `${randomBytes(32).toString('hex')}00`]) {
      let error: unknown;
      try {
        keyOf({ KOIOS_MASTER_KEY: bad });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^KOIOS_MASTER_KEY: must be 32 random bytes as base64 or 64 hex digits/);
      expect((error as Error).message).not.toContain(bad);
    }
    expect(() => keyOf({ KOIOS_MASTER_KEY: randomBytes(32).toString('hex'), KOIOS_MASTER_KEY_FILE: '/etc/koios/master.key' })).toThrow(
      'KOIOS_MASTER_KEY: set either KOIOS_MASTER_KEY or KOIOS_MASTER_KEY_FILE, not both',
    );
  });

  it('default to master.key beside the SQLite database, ./data/master.key on PostgreSQL, or the configured file', () => {
    expect(keyOf({})).toEqual({ kind: 'file', path: '/srv/koios/master.key', configured: false });
    expect(loadConfig({ KOIOS_DATABASE_URL: 'postgres://db.internal/koios' }).masterKey).toEqual({ kind: 'file', path: 'data/master.key', configured: false });
    expect(keyOf({ KOIOS_MASTER_KEY_FILE: '/etc/koios/master.key' })).toEqual({ kind: 'file', path: '/etc/koios/master.key', configured: true });
  });

  it('keep the key out of the configuration when it is printed', () => {
    const bytes = randomBytes(32);
    const printed = JSON.stringify(keyOf({ KOIOS_MASTER_KEY: bytes.toString('hex') }));
    for (const form of formsOf(bytes).slice(1)) expect(printed).not.toContain(form.toString('utf8'));
  });
});

describe.each(testDialects())('koios master-key rotate on %s', (dialect) => {
  let database: TestDatabase;
  let root: string;
  let client: { id: string; secret: string };
  let kids: string[];
  let sealedBefore: string[];

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    root = mkdtempSync(join(tmpdir(), 'koios-rotate-'));
    const services = await createTestServices(database);
    const created = await services.clients.create(SYSTEM_ACTOR, { name: 'Made before the rotation', roleId: null });
    client = { id: created.client.id, secret: created.clientSecret };
    await services.signingKeys.rotate(SYSTEM_ACTOR);
    await services.stop();
    const keys = await database.handle.db.selectFrom('signing_keys').select(['kid', 'private_key']).orderBy('kid').execute();
    kids = keys.map((key) => key.kid);
    const secret = await database.handle.db.selectFrom('settings').select('value').where('key', '=', 'client_secret_hmac_key').executeTakeFirstOrThrow();
    sealedBefore = [...keys.map((key) => key.private_key), secret.value];
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('re-seals every key under a new key file it generates (0600): the new key opens them, the old one no longer does, and secrets and signing keys stay the same', async () => {
    const newKeyFile = join(root, 'next', 'master.key');
    const run = await spawnKoios(database.env, ['master-key', 'rotate', '--new-key-file', newKeyFile, '--json'], root);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const next = createMasterKey(readKeyFile(newKeyFile, '--new-key-file')!, 'KOIOS_MASTER_KEY_FILE');
    expect(JSON.parse(run.stdout)).toEqual({ masterKeyId: next.id, keyFile: newKeyFile, generated: true, signingKeys: 2 });
    expect((statSync(newKeyFile).mode & 0o777).toString(8)).toBe('600');

    await expect(createTestServices(database)).rejects.toThrow(/the master key does not open this database's keys/);

    const services = await createTestServices(database, { masterKey: next });
    try {
      const row = await services.db.selectFrom('api_clients').select('secret_hash').where('id', '=', client.id).executeTakeFirstOrThrow();
      expect(services.hasher.verify(client.secret, row.secret_hash)).toBe(true);
      expect((await services.db.selectFrom('signing_keys').select('kid').orderBy('kid').execute()).map((key) => key.kid)).toEqual(kids);
      expect(
        services.signingKeys
          .jwks()
          .keys.map((key) => key.kid)
          .sort(),
      ).toEqual([...kids].sort());
    } finally {
      await services.stop();
    }
    // What the old key sealed is gone, not only superseded (on SQLite, from the files' free pages and WAL too).
    const stored = await storedBytes(database);
    for (const value of sealedBefore) expect(stored.includes(Buffer.from(value, 'utf8'))).toBe(false);
  });

  it('refuses a new key file that holds the key in use, with one line, changing nothing', async () => {
    const newKeyFile = join(root, 'next', 'master.key');
    const run = await spawnKoios(
      { ...database.env, KOIOS_MASTER_KEY: '', KOIOS_MASTER_KEY_FILE: newKeyFile },
      ['master-key', 'rotate', '--new-key-file', newKeyFile],
      root,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('koios: --new-key-file: holds the master key already in use\n');
  });
});

describe.each(testDialects())('a database written before keys were sealed, on %s', (dialect) => {
  let database: TestDatabase;
  const plainSecretKey = randomBytes(32);
  const plainSigning = generateKeyPairSync('ed25519').privateKey;
  const oldKid = 'plaintext-kid';
  const hasher = createSecretHasher(plainSecretKey);
  const generated = hasher.generate();

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const migrator = new Migrator({
      db: database.handle.db,
      provider: { getMigrations: async () => migrations },
      ...(dialect === 'postgres' ? { migrationTableSchema: database.location } : {}),
    });
    expect((await migrator.migrateTo('2026-11-27T0006-user-name-key')).error).toBeUndefined();
    // As the version before wrote them: the HMAC key as base64url text, the signing key as PEM.
    const { db } = database.handle;
    await sql`insert into settings (key, value) values ('client_secret_hmac_key', ${plainSecretKey.toString('base64url')})`.execute(db);
    const pem = plainSigning.export({ format: 'pem', type: 'pkcs8' }) as string;
    const now = new Date().toISOString();
    await sql`insert into signing_keys (kid, alg, public_jwk, private_pem, created_at) values (${oldKid}, 'EdDSA', '{}', ${pem}, ${now})`.execute(db);
    await insertClientRows(db, dialect, [clientRow(1, { secret: generated })]);
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('is sealed at the first start with a master key: client secrets keep working, the plaintext signing key is replaced, and no trace of either stays', async () => {
    const services = await createTestServices(database);
    try {
      expect(services.hasher.verify(generated.secret, generated.hash)).toBe(true);
      const kids = (await services.db.selectFrom('signing_keys').select('kid').execute()).map((row) => row.kid);
      expect(kids).not.toContain(oldKid);
      expect(kids.length).toBe(1);
      expect(services.signingKeys.jwks().keys.map((key) => key.kid)).toEqual(kids);
      const settings = await services.db.selectFrom('settings').selectAll().execute();
      expect(settings.find((row) => row.key === MASTER_KEY_ID_SETTING)?.value).toBe(database.masterKey.id);
      expect(settings.find((row) => row.key === 'client_secret_hmac_key')?.value).toMatch(/^v1\./);
    } finally {
      await services.stop();
    }
    const stored = await storedBytes(database);
    const pemBody = (plainSigning.export({ format: 'pem', type: 'pkcs8' }) as string).split('\n')[1]!;
    expect(stored.includes(Buffer.from('PRIVATE KEY', 'utf8'))).toBe(false);
    expect(stored.includes(Buffer.from(pemBody, 'utf8'))).toBe(false);
    for (const form of formsOf(plainSecretKey)) expect(stored.includes(form)).toBe(false);
  });
});
