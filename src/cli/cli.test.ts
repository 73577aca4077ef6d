import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../server/actor.js';
import { NotFound } from '../server/errors.js';
import type { Services } from '../server/services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../test/support/databases.js';
import { buildProgram, runCli } from './main.js';

/*
 * The operator CLI as operators run it: a separate process, configured only by its environment,
 * talking to a real database (SQLite file or PostgreSQL schema) that this test then inspects.
 */

// The real `koios` command (package bin), running the compiled CLI; global setup rebuilds dist/ when src/ is newer.
const CLI_ENTRY = fileURLToPath(new URL('../../bin/koios.js', import.meta.url));
const SPAWN_TIMEOUT_MS = 60_000;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** This process's environment without anything that configures Koios, plus `overrides`. */
function cleanEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('KOIOS_') && key !== 'HOST' && key !== 'PORT' && !key.startsWith('NODE_') && !key.startsWith('VITEST')) env[key] = value;
  }
  return { ...env, ...overrides };
}

/** An empty working directory, so that no `.env` file changes what the CLI sees. */
const cwd = mkdtempSync(join(tmpdir(), 'koios-cli-cwd-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The real `bin/koios.js` in its own process: for stdin, exit codes and the program as installed. */
function spawnKoios(env: Record<string, string>, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      cwd,
      env: cleanEnv({ KOIOS_LOG_LEVEL: 'silent', ...env }),
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), SPAWN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * The same CLI entry (`runCli`) in this process, with the environment, working directory and
 * output it would have as a process: a process start costs about a second here, and the suite
 * runs about a hundred commands. One at a time, since it swaps process-wide state.
 */
function runInProcess(env: Record<string, string>, args: readonly string[]): Promise<Run> {
  const run = inProcessQueue.then(async () => {
    const savedEnv = process.env;
    const savedCwd = process.cwd();
    const savedOut = process.stdout.write;
    const savedErr = process.stderr.write;
    let stdout = '';
    let stderr = '';
    process.env = cleanEnv({ KOIOS_LOG_LEVEL: 'silent', ...env });
    process.chdir(cwd);
    process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
    try {
      const code = await runCli(args);
      return { code, stdout, stderr };
    } finally {
      process.stdout.write = savedOut;
      process.stderr.write = savedErr;
      process.chdir(savedCwd);
      process.env = savedEnv;
    }
  });
  inProcessQueue = run.catch(() => undefined);
  return run;
}

/** Commands with input on stdin run as a real process; the rest in this process. */
function runKoios(env: Record<string, string>, args: readonly string[], input?: string): Promise<Run> {
  // `users create` without --password reads stdin, which only a real process can be given (empty here).
  const readsStdin = args[0] === 'users' && args[1] === 'create' && !args.includes('--password') && !args.includes('--help');
  if (readsStdin) return spawnKoios(env, args, input ?? '');
  return input === undefined ? runInProcess(env, args) : spawnKoios(env, args, input);
}

/** Runs `work` over `items`, at most `width` at a time (each CLI process compiles the sources). */
async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += width) results.push(...(await Promise.all(items.slice(start, start + width).map(work))));
  return results;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

/** The one JSON document a `--json` command printed: exactly one line, nothing on stderr. */
function jsonOf(run: Run): Record<string, unknown> {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(lines(run.stdout)).toHaveLength(1);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A refusal: exit 1, nothing on stdout, one line on stderr. */
function refusalLine(run: Run): string {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe('');
  const stderr = lines(run.stderr);
  expect(stderr).toHaveLength(1);
  return stderr[0]!;
}

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

describe('koios without a database', { timeout: 120_000 }, () => {
  it('refuses to run against an unreachable database with one line naming KOIOS_DATABASE_URL', async () => {
    const run = await spawnKoios({ KOIOS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' }, ['clients', 'list', '--json']);
    expect(refusalLine(run)).toContain('KOIOS_DATABASE_URL');
  });

  it('refuses bad configuration with one line naming the variable', async () => {
    const run = await spawnKoios({ KOIOS_DATABASE_URL: 'mysql://root@127.0.0.1/koios' }, ['roles', 'list']);
    expect(refusalLine(run)).toMatch(/^koios: KOIOS_DATABASE_URL: /);
  });

  it('exits 0 and prints usage for the program and every command', { timeout: 300_000 }, async () => {
    const paths = [[], ...commandPaths(buildProgram())];
    const expected = ['serve', 'migrate', 'clients', 'clients create', 'clients list', 'clients show', 'clients enable', 'clients disable'];
    expected.push('clients delete', 'clients regenerate-secret', 'clients end-previous-secret', 'users', 'users create', 'roles', 'roles list');
    expected.push('clients federated add', 'clients federated list', 'clients federated remove');
    expect(paths.map((path) => path.join(' '))).toEqual(expect.arrayContaining(expected));
    // No database is opened for help: point at one that would fail loudly if it were.
    const env = { KOIOS_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' };
    const runs = await inBatches(paths, 4, async (path) => ({ path, run: await runKoios(env, [...path, '--help']) }));
    for (const { path, run } of runs) {
      expect({ path, code: run.code, stderr: run.stderr }).toEqual({ path, code: 0, stderr: '' });
      expect(run.stdout).toContain(`Usage: koios ${path.join(' ')}`.trim());
    }
  });
});

// Each test spawns one or more CLI processes; under load that takes a while.
describe.each(testDialects())('koios CLI on %s', { timeout: 120_000 }, (dialect) => {
  let database: TestDatabase;
  let services: Services;
  /** Every secret the CLI printed in this suite: none may be stored anywhere. */
  const printedSecrets: string[] = [];

  const koios = (args: readonly string[], input?: string) => runKoios(database.env, args, input);
  const clientCount = async () => (await services.clients.list(SYSTEM_ACTOR, {})).total;
  const userCount = () => services.users.count();

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  describe('clients create', () => {
    it('prints exactly one JSON object with clientId, clientSecret, name and role', async () => {
      // The installed program, as an operator runs it.
      const result = jsonOf(await spawnKoios(database.env, ['clients', 'create', '--name', 'Billing export', '--role', 'Viewer', '--json']));
      expect(Object.keys(result).sort()).toEqual(['clientId', 'clientSecret', 'name', 'role']);
      expect(result).toMatchObject({ name: 'Billing export', role: 'Viewer' });
      expect(result['clientSecret']).toMatch(/^koios_cs_[A-Za-z0-9_-]{43}$/);
      printedSecrets.push(result['clientSecret'] as string);
      const stored = await services.clients.get(SYSTEM_ACTOR, result['clientId'] as string);
      expect(stored.name).toBe('Billing export');
      expect(stored.role?.name).toBe('Viewer');
    });

    it('takes the role by id, and by name in any case', async () => {
      const roles = await services.roles.list(SYSTEM_ACTOR);
      const administrator = roles.find((role) => role.name === 'Administrator')!;
      const [byId, byName] = await Promise.all([
        koios(['clients', 'create', '--name', 'by id', '--role', administrator.id.toUpperCase(), '--json']),
        koios(['clients', 'create', '--name', 'by name', '--role', 'viewer', '--json']),
      ]);
      const idResult = jsonOf(byId);
      const nameResult = jsonOf(byName);
      printedSecrets.push(idResult['clientSecret'] as string, nameResult['clientSecret'] as string);
      expect(idResult['role']).toBe('Administrator');
      expect(nameResult['role']).toBe('Viewer');
      expect((await services.clients.get(SYSTEM_ACTOR, idResult['clientId'] as string)).role?.id).toBe(administrator.id);
    });

    it('prints role null for a client created without a role, and the human form without --json', async () => {
      const json = jsonOf(await koios(['clients', 'create', '--name', 'roleless', '--description', 'no role', '--json']));
      expect(json['role']).toBeNull();
      printedSecrets.push(json['clientSecret'] as string);
      const human = await koios(['clients', 'create', '--name', 'for humans']);
      expect(human.code).toBe(0);
      const secret = /Client Secret: (koios_cs_\S+)/.exec(human.stdout)?.[1];
      expect(secret).toBeDefined();
      printedSecrets.push(secret!);
      expect(human.stdout).toContain('cannot be shown again');
    });

    it('creates a private_key_jwt client from a PEM file, adds and removes keys, and refuses a private key', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'koios-keys-'));
      const pair = generateKeyPairSync('ed25519');
      writeFileSync(join(folder, 'public.pem'), pair.publicKey.export({ type: 'spki', format: 'pem' }));
      writeFileSync(join(folder, 'private.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(join(folder, 'second.jwk'), JSON.stringify({ ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), kid: 'second' }));
      const created = jsonOf(
        await koios(['clients', 'create', '--name', 'keys only', '--auth-method', 'private_key_jwt', '--public-key', join(folder, 'public.pem'), '--json']),
      );
      expect(created['clientSecret']).toBeNull();
      const id = created['clientId'] as string;
      expect((await koios(['clients', 'keys', 'add', id, join(folder, 'second.jwk')])).code).toBe(0);
      const refused = refusalLine(await koios(['clients', 'keys', 'add', id, join(folder, 'private.pem')]));
      expect(refused).toContain('private key');
      expect((await koios(['clients', 'keys', 'remove', id, 'second'])).code).toBe(0);
      const client = await services.clients.get(SYSTEM_ACTOR, id);
      expect(client).toMatchObject({ authMethod: 'private_key_jwt', publicKeys: [{ alg: 'EdDSA' }] });
    });

    it('refuses an unknown role with one line naming it, and creates no client', async () => {
      const before = await clientCount();
      const line = refusalLine(await koios(['clients', 'create', '--name', 'orphan', '--role', 'Auditors Of Nothing', '--json']));
      expect(line).toContain('Auditors Of Nothing');
      expect(line).toContain('not found');
      expect(await clientCount()).toBe(before);
    });

    it('refuses a bad name with exit 1 naming the field, and creates no client', async () => {
      const before = await clientCount();
      const line = refusalLine(await koios(['clients', 'create', '--name', 'x'.repeat(101)]));
      expect(line).toContain('name');
      expect(await clientCount()).toBe(before);
    });

    it('treats a missing --name, an unknown option or an unknown command as a usage error (exit 2)', async () => {
      const before = await clientCount();
      const runs = await Promise.all([
        koios(['clients', 'create', '--role', 'Viewer', '--json']),
        koios(['clients', 'create', '--name', 'x', '--colour', 'blue']),
        koios(['clients', 'frobnicate']),
        koios(['clients', 'list', '--status', 'sleeping']),
      ]);
      for (const run of runs) {
        expect(run.code).toBe(2);
        expect(run.stdout).toBe('');
        expect(run.stderr).not.toBe('');
      }
      expect(runs[0]!.stderr).toContain('--name');
      expect(await clientCount()).toBe(before);
    });
  });

  describe('clients list, show, enable, disable, delete, regenerate-secret', () => {
    it('lists as {items, nextCursor, total} and filters by status, search and limit', async () => {
      const { client: disabled } = await services.clients.create(SYSTEM_ACTOR, { name: 'Dormant importer' });
      await services.clients.setEnabled(SYSTEM_ACTOR, disabled.id, false);
      await services.clients.create(SYSTEM_ACTOR, { name: 'Active importer' });
      const total = await clientCount();

      const [all, onlyDisabled, searched, limited] = await Promise.all([
        koios(['clients', 'list', '--json']),
        koios(['clients', 'list', '--status', 'disabled', '--json']),
        koios(['clients', 'list', '--search', 'dormant', '--json']),
        koios(['clients', 'list', '--limit', '1', '--sort', 'name', '--json']),
      ]);
      const page = jsonOf(all);
      expect(Object.keys(page).sort()).toEqual(['items', 'nextCursor', 'total']);
      expect(page['total']).toBe(total);
      expect(page['items']).toHaveLength(total);
      expect(page['nextCursor']).toBeNull();

      const disabledPage = jsonOf(onlyDisabled) as { items: { id: string; enabled: boolean }[]; total: number };
      expect(disabledPage.items.map((item) => item.id)).toEqual([disabled.id]);
      expect(disabledPage.total).toBe(1);

      expect((jsonOf(searched) as { items: { id: string }[] }).items.map((item) => item.id)).toEqual([disabled.id]);

      const limitedPage = jsonOf(limited) as { items: unknown[]; nextCursor: string | null; total: number };
      expect(limitedPage.items).toHaveLength(1);
      expect(limitedPage.nextCursor).not.toBeNull();
      expect(limitedPage.total).toBe(total);
    });

    it('lists only the clients holding a role with --role-id', async () => {
      const viewer = (await services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Viewer')!;
      const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'Role-filtered reader', roleId: viewer.id });
      const page = jsonOf(await koios(['clients', 'list', '--role-id', viewer.id, '--json'])) as {
        items: { id: string; role: { id: string } }[];
        total: number;
      };
      expect(page.items.map((item) => item.id)).toContain(client.id);
      expect(page.items.every((item) => item.role.id === viewer.id)).toBe(true);
      expect(page.total).toBe(page.items.length);
    });

    it('lists the clients never used with --never-used, or not used for a while with --unused-for, and refuses a bad duration', async () => {
      const { client: unused } = await services.clients.create(SYSTEM_ACTOR, { name: 'Never called' });
      const { client: used } = await services.clients.create(SYSTEM_ACTOR, { name: 'Called today' });
      services.clients.recordUse(used.id);
      await services.lastUsed.flush();
      for (const args of [['--never-used'], ['--unused-for', '90d']]) {
        const page = jsonOf(await koios(['clients', 'list', ...args, '--limit', '200', '--json'])) as { items: { id: string; lastUsedAt: string | null }[] };
        const ids = page.items.map((item) => item.id);
        expect(ids, args.join(' ')).toContain(unused.id);
        expect(ids, args.join(' ')).not.toContain(used.id);
      }
      expect(refusalLine(await koios(['clients', 'list', '--unused-for', '3 months']))).toContain('--unused-for must be a number of days');
    });

    it('limits where a client may call from with --allowed-cidrs on create and update, clears it with --anywhere, and names a bad range', async () => {
      const created = jsonOf(await koios(['clients', 'create', '--name', 'Office bound', '--allowed-cidrs', '10.0.0.0/8, 2001:DB8::/32', '--json']));
      const id = created['clientId'] as string;
      expect((await services.clients.get(SYSTEM_ACTOR, id)).allowedCidrs).toEqual(['10.0.0.0/8', '2001:db8::/32']);

      const updated = jsonOf(await koios(['clients', 'update', id, '--allowed-cidrs', '192.168.0.0/16', '--json']));
      expect(updated['allowedCidrs']).toEqual(['192.168.0.0/16']);
      expect((await koios(['clients', 'update', id, '--anywhere'])).stdout).toContain('may call from anywhere');
      expect((await services.clients.get(SYSTEM_ACTOR, id)).allowedCidrs).toEqual([]);

      const refused = refusalLine(await koios(['clients', 'update', id, '--allowed-cidrs', '10.0.0.0/8,10.0.0.1/8']));
      expect(refused).toContain('--allowed-cidrs range 2');
      expect(refused).toContain('did you mean 10.0.0.0/8');
      expect((await services.clients.get(SYSTEM_ACTOR, id)).allowedCidrs).toEqual([]);
    });

    it('sets rate limits with --requests-per-minute and --tokens-per-minute, one at a time, clears one with none, and names a bad value', async () => {
      const created = jsonOf(await koios(['clients', 'create', '--name', 'Metered', '--requests-per-minute', '600', '--json']));
      const id = created['clientId'] as string;
      expect((await services.clients.get(SYSTEM_ACTOR, id)).rateLimit).toEqual({ requestsPerMinute: 600, tokensPerMinute: null });

      const updated = jsonOf(await koios(['clients', 'update', id, '--tokens-per-minute', '10', '--json']));
      expect(updated['rateLimit']).toEqual({ requestsPerMinute: 600, tokensPerMinute: 10 });
      expect((await koios(['clients', 'update', id, '--requests-per-minute', 'none'])).stdout).toContain('no limit of requests, 10 token requests a minute');
      expect((await services.clients.get(SYSTEM_ACTOR, id)).rateLimit).toEqual({ requestsPerMinute: null, tokensPerMinute: 10 });

      // The range is the service's rule, said with the CLI's word for no limit.
      const outOfRange = refusalLine(await koios(['clients', 'update', id, '--tokens-per-minute', '0']));
      expect(outOfRange).toContain('--tokens-per-minute must be from 1 to 10,000, or none for no limit');
      expect(outOfRange).not.toContain('null');
      expect(refusalLine(await koios(['clients', 'create', '--name', 'Too busy', '--requests-per-minute', '2000000']))).toContain(
        '--requests-per-minute must be from 1 to 1,000,000, or none for no limit',
      );
      expect(refusalLine(await koios(['clients', 'update', id, '--requests-per-minute', 'lots']))).toContain(
        '--requests-per-minute must be a whole number, or none for no limit',
      );
      expect((await services.clients.get(SYSTEM_ACTOR, id)).rateLimit).toEqual({ requestsPerMinute: null, tokensPerMinute: 10 });
    });

    it('requires DPoP-bound tokens with --require-dpop on create and update, and lifts it with --no-require-dpop', async () => {
      const created = jsonOf(await koios(['clients', 'create', '--name', 'Key bound', '--require-dpop', '--json']));
      const id = created['clientId'] as string;
      expect((await services.clients.get(SYSTEM_ACTOR, id)).requireDpop).toBe(true);
      expect(jsonOf(await koios(['clients', 'update', id, '--no-require-dpop', '--json']))['requireDpop']).toBe(false);
      expect((await koios(['clients', 'update', id, '--require-dpop'])).stdout).toContain('tokens bound by DPoP only');
      expect((await services.clients.get(SYSTEM_ACTOR, id)).requireDpop).toBe(true);
    });

    it('adds, lists and removes federated credentials with clients federated, naming a bad flag', async () => {
      const id = jsonOf(await koios(['clients', 'create', '--name', 'Deployed from CI', '--json']))['clientId'] as string;
      const issuer = 'https://token.actions.githubusercontent.com';
      const added = jsonOf(
        await koios([
          'clients',
          'federated',
          'add',
          id,
          '--name',
          'main',
          '--issuer',
          issuer,
          '--audience',
          'https://koios.example.com',
          '--subject',
          'repo:acme/api:ref:refs/heads/main',
          '--condition',
          'repository_owner=acme',
          '--json',
        ]),
      );
      expect(added).toMatchObject({ name: 'main', issuer, conditions: { repository_owner: 'acme' }, lastUsedAt: null });
      const listed = jsonOf(await koios(['clients', 'federated', 'list', id, '--json'])) as { items: { id: string }[] };
      expect(listed.items.map((item) => item.id)).toEqual([added['id']]);
      const refused = refusalLine(
        await koios(['clients', 'federated', 'add', id, '--name', 'plain', '--issuer', 'http://example.com', '--audience', 'a', '--subject', 's']),
      );
      expect(refused).toContain('--issuer');
      expect(jsonOf(await koios(['clients', 'federated', 'remove', id, added['id'] as string, '--json']))).toEqual({ removed: added['id'] });
      expect(await services.federation.list(SYSTEM_ACTOR, id)).toEqual([]);
    });

    it('refuses a non-numeric --limit with exit 1', async () => {
      expect(refusalLine(await koios(['clients', 'list', '--limit', 'many']))).toContain('--limit');
    });

    it('shows, disables and enables a client, printing it as JSON, and the database follows', async () => {
      const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'Switchable' });
      const shown = jsonOf(await koios(['clients', 'show', client.id, '--json']));
      expect(shown).toMatchObject({ id: client.id, name: 'Switchable', enabled: true, role: null, secretHint: client.secretHint });

      const disabled = jsonOf(await koios(['clients', 'disable', client.id, '--json']));
      expect(disabled).toMatchObject({ id: client.id, enabled: false });
      expect((await services.clients.get(SYSTEM_ACTOR, client.id)).enabled).toBe(false);

      const enabled = jsonOf(await koios(['clients', 'enable', client.id.toUpperCase(), '--json']));
      expect(enabled).toMatchObject({ id: client.id, enabled: true });
      expect((await services.clients.get(SYSTEM_ACTOR, client.id)).enabled).toBe(true);

      const audit = await services.audit.list(SYSTEM_ACTOR, { targetId: client.id });
      expect(audit.items.map((event) => [event.action, event.actor.type])).toEqual([
        ['client.enabled', 'system'],
        ['client.disabled', 'system'],
        ['client.created', 'system'],
      ]);
    });

    it('regenerates a secret: prints the new one once, and only the new one verifies', async () => {
      const created = jsonOf(await koios(['clients', 'create', '--name', 'Rotating', '--role', 'Viewer', '--json']));
      const clientId = created['clientId'] as string;
      const oldSecret = created['clientSecret'] as string;
      const regenerated = jsonOf(await koios(['clients', 'regenerate-secret', clientId, '--json']));
      expect(Object.keys(regenerated).sort()).toEqual(['clientId', 'clientSecret', 'name', 'role']);
      expect(regenerated).toMatchObject({ clientId, name: 'Rotating', role: 'Viewer' });
      const newSecret = regenerated['clientSecret'] as string;
      expect(newSecret).toMatch(/^koios_cs_/);
      expect(newSecret).not.toBe(oldSecret);
      printedSecrets.push(oldSecret, newSecret);
      const row = await database.handle.db.selectFrom('api_clients').selectAll().where('id', '=', clientId).executeTakeFirstOrThrow();
      expect(services.hasher.verify(oldSecret, row.secret_hash)).toBe(false);
      expect(services.hasher.verify(newSecret, row.secret_hash)).toBe(true);
    });

    it('regenerates with --keep-previous and --expires-at, ends the overlap with end-previous-secret, and names a bad flag', async () => {
      const expiresAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
      const created = jsonOf(await koios(['clients', 'create', '--name', 'Overlapping', '--expires-at', expiresAt, '--json']));
      const clientId = created['clientId'] as string;
      expect((await services.clients.get(SYSTEM_ACTOR, clientId)).secretExpiresAt).toBe(expiresAt);
      const regenerated = jsonOf(await koios(['clients', 'regenerate-secret', clientId, '--keep-previous', '24h', '--expires-at', expiresAt, '--json']));
      printedSecrets.push(created['clientSecret'] as string, regenerated['clientSecret'] as string);
      const rotated = await services.clients.get(SYSTEM_ACTOR, clientId);
      expect(rotated.previousSecret?.hint).toBe((created['clientSecret'] as string).slice(-4));
      // The overlap never outlasts the replaced secret's own expiry, a week away: a day.
      expect(Date.parse(rotated.previousSecret!.expiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
      expect(Date.parse(rotated.previousSecret!.expiresAt) - Date.now()).toBeLessThanOrEqual(24 * 3600_000);

      const later = new Date(Date.now() + 20 * 86_400_000).toISOString();
      expect(jsonOf(await koios(['clients', 'update', clientId, '--expires-at', later, '--json']))).toMatchObject({ secretExpiresAt: later });
      expect(jsonOf(await koios(['clients', 'update', clientId, '--never-expires', '--json']))).toMatchObject({ secretExpiresAt: null });
      expect(refusalLine(await koios(['clients', 'update', clientId, '--expires-at', '2020-01-01T00:00:00Z']))).toContain('--expires-at');
      expect(jsonOf(await koios(['clients', 'update', clientId, '--expires-at', expiresAt, '--json']))).toMatchObject({ secretExpiresAt: expiresAt });

      const ended = jsonOf(await koios(['clients', 'end-previous-secret', clientId, '--json']));
      expect(ended).toMatchObject({ id: clientId, previousSecret: null });
      expect(refusalLine(await koios(['clients', 'end-previous-secret', clientId]))).toContain('not found');
      expect(refusalLine(await koios(['clients', 'regenerate-secret', clientId, '--keep-previous', '31d']))).toContain('--keep-previous');
      expect(refusalLine(await koios(['clients', 'regenerate-secret', clientId, '--keep-previous', 'soon']))).toContain('--keep-previous');
      expect(refusalLine(await koios(['clients', 'regenerate-secret', clientId, '--expires-at', 'yesterday']))).toContain('--expires-at');

      const expiring = jsonOf(await koios(['clients', 'list', '--search', 'Overlapping', '--expiring-within', '30d', '--json'])) as { items: { id: string }[] };
      expect(expiring.items.map((item) => item.id)).toEqual([clientId]);
      expect((jsonOf(await koios(['clients', 'list', '--search', 'Overlapping', '--expired', '--json'])) as { total: number }).total).toBe(0);
      expect(refusalLine(await koios(['clients', 'list', '--expiring-within', 'a month']))).toContain('--expiring-within');
    });

    it('deletes a client and prints {"deleted": id}', async () => {
      const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'Doomed' });
      expect(jsonOf(await koios(['clients', 'delete', client.id, '--json']))).toEqual({ deleted: client.id });
      await expect(services.clients.get(SYSTEM_ACTOR, client.id)).rejects.toBeInstanceOf(NotFound);
    });

    it('answers an unknown client id with exit 1 and "not found" for every command, changing nothing', async () => {
      const before = await clientCount();
      const unknown = randomUUID();
      const commands = ['show', 'enable', 'disable', 'delete', 'regenerate-secret'];
      const runs = await Promise.all(commands.map((command) => koios(['clients', command, unknown, '--json'])));
      for (const run of runs) {
        const line = refusalLine(run);
        expect(line).toContain(unknown);
        expect(line).toContain('not found');
      }
      expect(await clientCount()).toBe(before);
    });

    it('answers a malformed client id with exit 1 for every command', async () => {
      const commands = ['show', 'enable', 'disable', 'delete', 'regenerate-secret'];
      const runs = await Promise.all(commands.map((command) => koios(['clients', command, 'not-a-client-id', '--json'])));
      for (const run of runs) expect(refusalLine(run)).toMatch(/\bid\b.*UUID/);
    });
  });

  describe('usage', () => {
    it('prints a client’s figures and refusals, and every client’s with the busiest, as the REST API answers them', async () => {
      const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'Measured' });
      for (let i = 0; i < 4; i++) services.usageRecorder.requested(client.id, 'rest');
      services.usageRecorder.tokenIssued(client.id);
      services.failures.record(client.id, 'bad_secret', '192.0.2.9');
      await services.usageRecorder.flush();

      const usage = jsonOf(await koios(['clients', 'usage', client.id, '--granularity', 'day', '--json'])) as {
        granularity: string;
        buckets: { tokens: number; rest: number; refusals: Record<string, number> }[];
      };
      expect(usage.granularity).toBe('day');
      expect(usage.buckets).toHaveLength(30);
      expect(usage.buckets.at(-1)).toMatchObject({ tokens: 1, rest: 4, graphql: 0, refusals: { bad_secret: 1 } });
      const human = await koios(['clients', 'usage', client.id]);
      expect(human.stdout).toMatch(/tokens +rest +graphql +refusals/);
      expect(human.stdout).toContain('bad_secret=1');

      const fleet = jsonOf(await koios(['usage', '--json'])) as {
        top: { client: { id: string }; requests: number; refusals: number }[];
        risingRefusals: { client: { id: string } }[];
      };
      expect(fleet.top.find((entry) => entry.client.id === client.id)).toEqual({ client: { id: client.id, name: 'Measured' }, requests: 4, refusals: 1 });
      // Its one refusal, none the day before: the only client of this file refused at all.
      expect(fleet.risingRefusals).toEqual([{ client: { id: client.id, name: 'Measured' }, refusals: 1, previousRefusals: 0 }]);
      expect((await koios(['usage'])).stdout).toContain(`refused more than in the span before:\n${client.id}  Measured: 1 refusals, 0 the span before`);
      const refusals = jsonOf(await koios(['clients', 'refusals', client.id, '--json'])) as { items: { reason: string; address: string }[] };
      expect(refusals.items).toEqual([{ at: expect.any(String), reason: 'bad_secret', address: '192.0.2.9' }]);

      expect(refusalLine(await koios(['clients', 'usage', client.id, '--from', 'last tuesday']))).toContain('--from');
      expect(refusalLine(await koios(['clients', 'refusals', client.id, '--limit', '500']))).toContain('--limit');
    });
  });

  describe('users create', () => {
    it('reads the password from stdin and assigns the role', async () => {
      const run = await koios(['users', 'create', '--email', 'ops@example.com', '--role', 'Administrator', '--json'], 'a long passphrase\n');
      const user = jsonOf(run) as { id: string; email: string; roles: { name: string }[] };
      expect(user.email).toBe('ops@example.com');
      expect(user.roles.map((role) => role.name)).toEqual(['Administrator']);
      expect(JSON.stringify(user)).not.toContain('a long passphrase');
      // The trailing newline of stdin is not part of the password.
      expect((await services.users.verifyCredentials('ops@example.com', 'a long passphrase'))?.id).toBe(user.id);
    });

    it('takes --password, and creates a user with no role when none is given', async () => {
      const user = jsonOf(await koios(['users', 'create', '--email', 'reader@example.com', '--password', 'another long passphrase', '--json'])) as {
        roles: unknown[];
      };
      expect(user.roles).toEqual([]);
      expect(await services.users.verifyCredentials('reader@example.com', 'another long passphrase')).not.toBeNull();
    });

    it('refuses a duplicate email in any case with exit 1, and creates no user', async () => {
      const before = await userCount();
      const line = refusalLine(await koios(['users', 'create', '--email', 'OPS@Example.COM', '--password', 'yet another passphrase']));
      expect(line).toContain('already exists');
      expect(await userCount()).toBe(before);
    });

    it('refuses a short, or missing, password with exit 1 naming it, and creates no user', async () => {
      const before = await userCount();
      const [short, shortOnStdin, missing] = await Promise.all([
        koios(['users', 'create', '--email', 'short@example.com', '--password', 'short']),
        koios(['users', 'create', '--email', 'short2@example.com'], 'short\n'),
        koios(['users', 'create', '--email', 'none@example.com']),
      ]);
      expect(refusalLine(short)).toContain('password');
      expect(refusalLine(shortOnStdin)).toContain('password');
      expect(refusalLine(missing)).toContain('password');
      expect(await userCount()).toBe(before);
    });

    it('refuses an unknown role with exit 1, and creates no user', async () => {
      const before = await userCount();
      expect(refusalLine(await koios(['users', 'create', '--email', 'x@example.com', '--role', 'Wizard', '--password', 'a long passphrase']))).toContain(
        'Wizard',
      );
      expect(await userCount()).toBe(before);
    });
  });

  it('lists the built-in roles with roles list --json', async () => {
    const roles = jsonOf(await koios(['roles', 'list', '--json'])) as unknown as { name: string; builtIn: boolean; permissions: string[] }[];
    expect(Array.isArray(roles)).toBe(true);
    const administrator = roles.find((role) => role.name === 'Administrator');
    const viewer = roles.find((role) => role.name === 'Viewer');
    expect(administrator?.builtIn).toBe(true);
    expect(viewer?.builtIn).toBe(true);
    expect(administrator?.permissions).toContain('users:write');
    expect(viewer?.permissions).toEqual(['clients:read', 'roles:read', 'users:read', 'audit:read']);
  });

  it('migrate --json reports the database is up to date', async () => {
    expect(jsonOf(await koios(['migrate', '--json']))).toEqual({ database: dialect, migrated: true });
  });

  it('stores none of the secrets it printed, in any form, anywhere in the database', { timeout: 120_000 }, async () => {
    const created = await Promise.all([
      koios(['clients', 'create', '--name', 'Leak check one', '--role', 'Administrator', '--json']),
      koios(['clients', 'create', '--name', 'Leak check two', '--json']),
    ]);
    for (const run of created) printedSecrets.push(jsonOf(run)['clientSecret'] as string);
    const regenerated = jsonOf(await koios(['clients', 'regenerate-secret', jsonOf(created[0]!)['clientId'] as string, '--json']));
    printedSecrets.push(regenerated['clientSecret'] as string);
    expect(printedSecrets.length).toBeGreaterThanOrEqual(3);
    expect(new Set(printedSecrets).size).toBe(printedSecrets.length);

    const needles = printedSecrets.flatMap((secret) => [secret, secret.slice('koios_cs_'.length)]);
    if (dialect === 'sqlite') {
      const directory = dirname(database.location);
      const files = readdirSync(directory).filter((name) => statSync(join(directory, name)).isFile());
      expect(files).toContain('koios.db');
      for (const file of files) {
        const bytes = readFileSync(join(directory, file));
        for (const needle of needles) expect({ file, found: bytes.includes(Buffer.from(needle, 'utf8')) }).toEqual({ file, found: false });
      }
    } else {
      const tables = await sql<{ table_name: string }>`
        select table_name from information_schema.tables where table_schema = ${database.location} and table_type = 'BASE TABLE'
      `.execute(database.handle.db);
      expect(tables.rows.map((row) => row.table_name)).toEqual(expect.arrayContaining(['api_clients', 'audit_events', 'settings']));
      for (const { table_name: table } of tables.rows) {
        const dump = await sql<{ row: string }>`select t::text as row from ${sql.table(`${database.location}.${table}`)} as t`.execute(database.handle.db);
        const text = dump.rows.map((row) => row.row).join('\n');
        for (const needle of needles) expect({ table, found: text.includes(needle) }).toEqual({ table, found: false });
      }
    }
  });
});
