import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { SYSTEM_ACTOR } from '../server/actor.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { DomainError } from '../server/errors.js';
import { createLogger } from '../server/logger.js';
import { createConfiguredServices, openMigratedDatabase, runServer } from '../server/server.js';
import type { Services } from '../server/services.js';
import { BadInput, namingFields, renameFields } from '../server/errors.js';
import type { ClientUsage } from '../shared/schemas/usage.js';
import { NULL_FOR_NO_LIMIT } from '../shared/limits.js';
import type { ApiClient } from '../server/modules/clients/clients.service.js';
import { createMasterKey, readKeyFile, writeKeyFile } from '../server/modules/master-key/master-key.js';

/**
 * The operator CLI. Every command reads the same configuration as the server, so
 * both talk to the same database; it acts as the system (shell access to the database is every
 * permission) and its changes are audited as such.
 */

interface Output {
  json?: boolean;
}

async function withServices<T>(run: (services: Services) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = await openMigratedDatabase(config, logger);
  const services = await createConfiguredServices(config, database, logger);
  try {
    return await run(services);
  } finally {
    await services.stop();
    await database.close();
  }
}

function print(options: Output, json: unknown, text: string): void {
  process.stdout.write(options.json === true ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

function clientLine(client: ApiClient): string {
  return [client.id, client.enabled ? 'enabled ' : 'disabled', client.name, client.role?.name ?? '-', client.lastUsedAt ?? 'never'].join('  ');
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** `--keep-previous`: seconds from `90s`, `30m`, `24h`, `7d` or a bare number of seconds. */
function parseSeconds(value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  if (match === null) throw new BadInput({ field: '--keep-previous', message: 'must be a duration such as 30m, 24h or 7d' });
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
}

/** The services name bad input by its field; the CLI user typed a flag. */
async function namingFlags<T>(run: () => Promise<T>): Promise<T> {
  const flags: Record<string, string> = {
    keepPreviousFor: '--keep-previous',
    expiresAt: '--expires-at',
    secretExpiresAt: '--expires-at',
    expiringWithin: '--expiring-within',
    unusedFor: '--unused-for',
    neverUsed: '--never-used',
    allowedCidrs: '--allowed-cidrs',
    'rateLimit.requestsPerMinute': '--requests-per-minute',
    'rateLimit.tokensPerMinute': '--tokens-per-minute',
  };
  try {
    return await run();
  } catch (error) {
    if (error instanceof BadInput)
      throw new BadInput(
        error.problems.map((problem) => ({
          // `allowedCidrs[1]` is the second range given to --allowed-cidrs.
          field:
            flags[problem.field] ?? problem.field.replace(/^allowedCidrs\[(\d+)\]$/, (_all, index: string) => `--allowed-cidrs range ${Number(index) + 1}`),
          // The CLI's word for no limit is `none`, not the APIs' null.
          message: problem.field.startsWith('rateLimit.') ? problem.message.replace(NULL_FOR_NO_LIMIT, 'none for no limit') : problem.message,
        })),
      );
    throw error;
  }
}

function parsePositive(value: string): number {
  if (!/^\d+$/.test(value)) throw new BadInput({ field: '--limit', message: 'must be a whole number' });
  return Number(value);
}

export function buildProgram(): Command {
  const program = new Command('koios')
    .description('Koios Access: API clients and OAuth 2.0 client credentials for the Koios APIs')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  addServerCommands(program);
  addClientsCommands(program);
  addUsersCommands(program);
  addKeysCommands(program);
  addMasterKeyCommands(program);
  addRolesCommands(program);
  addUsageCommands(program);
  return program;
}

/** `serve` and `migrate`: the server's own life. */
function addServerCommands(program: Command): void {
  program
    .command('serve')
    .description('run the server (what `npm start` runs)')
    .action(async () => runServer());

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .option('--json', 'print JSON')
    .action(async (options: Output) => {
      const config = loadConfig();
      const database = await openMigratedDatabase(config);
      await database.close();
      print(options, { database: config.database.dialect, migrated: true }, `database is up to date (${config.database.dialect})`);
    });
}

/** `--allowed-cidrs 10.0.0.0/8,2001:db8::/32` as a list; an empty value is the empty list (anywhere). */
function cidrList(value: string): string[] {
  return value
    .split(',')
    .map((range) => range.trim())
    .filter((range) => range.length > 0);
}

/** `--requests-per-minute 600` / `--tokens-per-minute none`: a limit, or null for none (the service checks the range). */
function perMinute(flag: string, value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  if (!/^\d{1,9}$/.test(value)) throw new BadInput({ field: flag, message: 'must be a whole number, or none for no limit' });
  return Number(value);
}

interface PerMinuteFlags {
  readonly requestsPerMinute?: string;
  readonly tokensPerMinute?: string;
}

/** The rate limits the flags ask for; only those given. */
function rateLimitOf(options: PerMinuteFlags) {
  const requestsPerMinute = perMinute('--requests-per-minute', options.requestsPerMinute);
  const tokensPerMinute = perMinute('--tokens-per-minute', options.tokensPerMinute);
  if (requestsPerMinute === undefined && tokensPerMinute === undefined) return undefined;
  return { ...(requestsPerMinute === undefined ? {} : { requestsPerMinute }), ...(tokensPerMinute === undefined ? {} : { tokensPerMinute }) };
}

const REQUESTS_PER_MINUTE_HELP = 'at most N REST and GraphQL requests a minute; none: no limit';
const TOKENS_PER_MINUTE_HELP = 'at most N token requests a minute; none: no limit';
const REQUIRE_DPOP_HELP = 'only tokens bound to a key by a DPoP proof (RFC 9449), sent as Authorization: DPoP with a proof';

/** `clients …`: create, list, show, update, enable, disable, delete, regenerate-secret, end-previous-secret, federated. */
function addClientsCommands(program: Command): void {
  const clients = program.command('clients').description('manage API clients');
  addFederatedCommands(clients);
  addClientKeysCommands(clients);

  clients
    .command('create')
    .description('create an API client and print its secret (shown once)')
    .requiredOption('--name <name>', 'a descriptive name (1 to 100 characters)')
    .option('--description <text>', 'what the client is for')
    .option('--role <role>', "the client's role: a role name or id")
    .option('--expires-at <time>', 'when the secret stops working (ISO 8601, e.g. 2027-01-31T00:00:00Z); default: never, or the maximum lifetime')
    .option('--allowed-cidrs <ranges>', 'where it may call from: CIDR ranges separated by commas, e.g. 10.0.0.0/8,2001:db8::/32 (default: anywhere)')
    .option('--requests-per-minute <n>', REQUESTS_PER_MINUTE_HELP)
    .option('--tokens-per-minute <n>', TOKENS_PER_MINUTE_HELP)
    .addOption(
      new Option('--auth-method <method>', 'client_secret: a secret shown once; private_key_jwt: no secret, the client signs assertions with its key')
        .choices(['client_secret', 'private_key_jwt'])
        .default('client_secret'),
    )
    .option('--public-key <file>', 'a public key of a private_key_jwt client: a JWK (JSON) or PEM file (repeatable)', collectFile, [])
    .option('--require-dpop', REQUIRE_DPOP_HELP)
    .option('--no-require-dpop', 'tokens may be bearer tokens (the default)')
    .option('--json', 'print {"clientId","clientSecret","name","role"}; clientSecret is null for a private_key_jwt client')
    .action(
      async (
        options: Output & {
          name: string;
          description?: string;
          role?: string;
          expiresAt?: string;
          allowedCidrs?: string;
          authMethod: 'client_secret' | 'private_key_jwt';
          publicKey: string[];
          requireDpop?: boolean;
        } & PerMinuteFlags,
      ) =>
        withServices(async (services) => {
          const rateLimit = rateLimitOf(options);
          const role = options.role === undefined ? null : await services.roles.resolve(SYSTEM_ACTOR, options.role);
          const { client, clientSecret } = await namingFlags(() =>
            services.clients.createAny(SYSTEM_ACTOR, {
              authMethod: options.authMethod,
              ...(options.publicKey.length === 0 ? {} : { publicKeys: options.publicKey }),
              name: options.name,
              description: options.description ?? null,
              roleId: role?.id ?? null,
              secretExpiresAt: options.expiresAt ?? null,
              ...(options.allowedCidrs === undefined ? {} : { allowedCidrs: cidrList(options.allowedCidrs) }),
              ...(rateLimit === undefined ? {} : { rateLimit }),
              ...(options.requireDpop === undefined ? {} : { requireDpop: options.requireDpop }),
            }),
          );
          print(
            options,
            { clientId: client.id, clientSecret, name: client.name, role: client.role?.name ?? null },
            clientSecret === null
              ? [
                  `Client ID:     ${client.id}`,
                  `Name:          ${client.name}`,
                  `Role:          ${client.role?.name ?? '(none)'}`,
                  `Keys:          ${client.publicKeys.map((key) => `${key.kid} (${key.alg})`).join(', ') || '(none yet: koios clients keys add)'}`,
                ].join('\n')
              : [
                  `Client ID:     ${client.id}`,
                  `Client Secret: ${clientSecret}`,
                  `Name:          ${client.name}`,
                  `Role:          ${client.role?.name ?? '(none)'}`,
                  '',
                  'Copy the secret now: it cannot be shown again.',
                ].join('\n'),
          );
        }),
    );

  clients
    .command('list')
    .description('list API clients, newest first')
    .option('--search <text>', 'match name, description or client ID')
    .addOption(new Option('--status <status>', 'only enabled or disabled clients').choices(['enabled', 'disabled']))
    .option('--role-id <id>', 'only the clients holding this role')
    .option('--unused-for <days>', 'only the clients never used, or not used for this long, e.g. 90d')
    .option('--never-used', 'only the clients that have never authenticated')
    .option('--expiring-within <days>', 'only the clients whose secret expires within this long, e.g. 30d')
    .option('--expired', 'only the clients whose secret has expired')
    .option('--sort <field>', 'name, createdAt, lastUsedAt or requests7d; prefix - for descending', '-createdAt')
    .option('--limit <n>', 'at most this many (1 to 200)', '50')
    .option('--json', 'print {"items","nextCursor","total"}')
    .action(
      async (
        options: Output & {
          search?: string;
          status?: 'enabled' | 'disabled';
          roleId?: string;
          unusedFor?: string;
          neverUsed?: boolean;
          expiringWithin?: string;
          expired?: boolean;
          sort: string;
          limit: string;
        },
      ) =>
        withServices(async (services) => {
          const page = await namingFlags(() =>
            services.clients.list(SYSTEM_ACTOR, {
              search: options.search ?? null,
              status: options.status ?? null,
              roleId: options.roleId ?? null,
              unusedFor: options.unusedFor ?? null,
              neverUsed: options.neverUsed ?? null,
              expiringWithin: options.expiringWithin ?? null,
              expired: options.expired ?? null,
              sort: options.sort,
              limit: parsePositive(options.limit),
            }),
          );
          print(
            options,
            // The REST page's shape.
            { items: page.items, nextCursor: page.nextCursor, total: page.total },
            page.items.length === 0 ? 'no API clients' : [...page.items.map(clientLine), `(${page.items.length} of ${page.total})`].join('\n'),
          );
        }),
    );

  clients
    .command('show')
    .description('show one API client')
    .argument('<id>', 'the client ID')
    .option('--json', 'print the client as JSON')
    .action(async (id: string, options: Output) =>
      withServices(async (services) => {
        const client = await services.clients.get(SYSTEM_ACTOR, id);
        print(options, client, clientLine(client));
      }),
    );

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    clients
      .command(name)
      .description(`${name} an API client (${enabled ? 'its credentials work again' : 'it is refused on its next request'})`)
      .argument('<id>', 'the client ID')
      .option('--json', 'print the client as JSON')
      .action(async (id: string, options: Output) =>
        withServices(async (services) => {
          const client = await services.clients.setEnabled(SYSTEM_ACTOR, id, enabled);
          print(options, client, `${client.name} (${client.id}) is ${client.enabled ? 'enabled' : 'disabled'}`);
        }),
      );
  }

  clients
    .command('update')
    .description('change a client: its name, description, where it may call from or when its secret expires (applies to its next request)')
    .argument('<id>', 'the client ID')
    .option('--name <name>', 'a new name')
    .option('--description <text>', 'a new description ("" clears it)')
    .option('--allowed-cidrs <ranges>', 'only from these CIDR ranges, separated by commas, e.g. 10.0.0.0/8,2001:db8::/32')
    .option('--anywhere', 'clear the allowed ranges: the client may call from anywhere')
    .option('--expires-at <time>', 'when the current secret stops working (ISO 8601, e.g. 2027-01-31T00:00:00Z)')
    .option('--never-expires', 'the current secret never expires (refused under a maximum lifetime)')
    .option('--requests-per-minute <n>', REQUESTS_PER_MINUTE_HELP)
    .option('--tokens-per-minute <n>', TOKENS_PER_MINUTE_HELP)
    .option('--require-dpop', REQUIRE_DPOP_HELP)
    .option('--no-require-dpop', 'accept bearer tokens again (DPoP stays optional)')
    .option('--json', 'print the client as JSON')
    .action(
      async (
        id: string,
        options: Output & {
          name?: string;
          description?: string;
          allowedCidrs?: string;
          anywhere?: boolean;
          expiresAt?: string;
          neverExpires?: boolean;
          requireDpop?: boolean;
        } & PerMinuteFlags,
      ) => {
        if (options.anywhere === true && options.allowedCidrs !== undefined) {
          throw new BadInput({ field: '--anywhere', message: 'cannot go with --allowed-cidrs' });
        }
        if (options.neverExpires === true && options.expiresAt !== undefined) {
          throw new BadInput({ field: '--never-expires', message: 'cannot go with --expires-at' });
        }
        const secretExpiresAt = options.neverExpires === true ? null : options.expiresAt;
        const rateLimit = rateLimitOf(options);
        const allowedCidrs = options.anywhere === true ? [] : options.allowedCidrs === undefined ? undefined : cidrList(options.allowedCidrs);
        const input = {
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.description === undefined ? {} : { description: options.description === '' ? null : options.description }),
          ...(allowedCidrs === undefined ? {} : { allowedCidrs }),
          ...(secretExpiresAt === undefined ? {} : { secretExpiresAt }),
          ...(rateLimit === undefined ? {} : { rateLimit }),
          ...(options.requireDpop === undefined ? {} : { requireDpop: options.requireDpop }),
        };
        if (Object.keys(input).length === 0) {
          throw new BadInput({
            field: 'update',
            message:
              'needs --name, --description, --allowed-cidrs, --anywhere, --expires-at, --never-expires, --requests-per-minute, --tokens-per-minute, --require-dpop or --no-require-dpop',
          });
        }
        await withServices(async (services) => {
          const client = await namingFlags(() => services.clients.update(SYSTEM_ACTOR, id, input));
          const where = client.allowedCidrs.length === 0 ? 'anywhere' : client.allowedCidrs.join(', ');
          const expiry = client.secretExpiresAt === null ? 'never expires' : `expires at ${client.secretExpiresAt}`;
          const limit = (value: number | null, what: string) => (value === null ? `no limit of ${what}` : `${value} ${what} a minute`);
          const limits = `${limit(client.rateLimit.requestsPerMinute, 'requests')}, ${limit(client.rateLimit.tokensPerMinute, 'token requests')}`;
          const dpop = client.requireDpop ? '; tokens bound by DPoP only' : '';
          print(options, client, `${client.name} (${client.id}) may call from ${where}; its secret ${expiry}; ${limits}${dpop}`);
        });
      },
    );

  clients
    .command('delete')
    .description('delete an API client; its tokens stop working at once')
    .argument('<id>', 'the client ID')
    .option('--json', 'print {"deleted": id}')
    .action(async (id: string, options: Output) =>
      withServices(async (services) => {
        await services.clients.delete(SYSTEM_ACTOR, id);
        print(options, { deleted: id.toLowerCase() }, `deleted ${id.toLowerCase()}`);
      }),
    );

  clients
    .command('regenerate-secret')
    .description('replace the client secret; the old one and its tokens stop working at once, or after --keep-previous')
    .argument('<id>', 'the client ID')
    .option('--keep-previous <duration>', 'keep the old secret working this long beside the new one: 30m, 24h, 7d (at most 30d); default: no overlap')
    .option('--expires-at <time>', 'when the new secret stops working (ISO 8601); default: never, or the maximum lifetime')
    .option('--json', 'print {"clientId","clientSecret","name","role"}')
    .action(async (id: string, options: Output & { keepPrevious?: string; expiresAt?: string }) =>
      withServices(async (services) => {
        const keepPreviousFor = options.keepPrevious === undefined ? 0 : parseSeconds(options.keepPrevious);
        const { client, clientSecret } = await namingFlags(() =>
          services.clients.regenerateSecret(SYSTEM_ACTOR, id, { keepPreviousFor, expiresAt: options.expiresAt ?? null }),
        );
        print(
          options,
          { clientId: client.id, clientSecret, name: client.name, role: client.role?.name ?? null },
          [
            `Client ID:     ${client.id}`,
            `Client Secret: ${clientSecret}`,
            ...(client.secretExpiresAt === null ? [] : [`Expires:       ${client.secretExpiresAt}`]),
            ...(client.previousSecret === null ? [] : [`Previous secret (…${client.previousSecret.hint}) valid until ${client.previousSecret.expiresAt}`]),
            '',
            'Copy the secret now: it cannot be shown again.',
          ].join('\n'),
        );
      }),
    );

  clients
    .command('end-previous-secret')
    .description('end a rotation overlap now: the previous secret and its tokens stop working')
    .argument('<id>', 'the client ID')
    .option('--json', 'print the client as JSON')
    .action(async (id: string, options: Output) =>
      withServices(async (services) => {
        await services.clients.endPreviousSecret(SYSTEM_ACTOR, id);
        const client = await services.clients.get(SYSTEM_ACTOR, id);
        print(options, client, `the previous secret of ${client.name} (${client.id}) no longer works`);
      }),
    );
}

/** `--condition claim=value`, repeatable, as the conditions object; the service checks each claim. */
function collectCondition(value: string, previous: Record<string, string>): Record<string, string> {
  const equals = value.indexOf('=');
  if (equals <= 0) throw new BadInput({ field: '--condition', message: `must be claim=value, got "${value}"` });
  return { ...previous, [value.slice(0, equals)]: value.slice(equals + 1) };
}

/** The federation service names its fields as REST does; here they are flags. */
async function namingFederationFlags<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof BadInput)
      throw new BadInput(
        error.problems.map((problem) => ({
          field: problem.field.startsWith('conditions') ? `--condition ${problem.field.slice('conditions.'.length)}`.trim() : `--${problem.field}`,
          // The CLI's word for no limit is `none`, not the APIs' null.
          message: problem.field.startsWith('rateLimit.') ? problem.message.replace(NULL_FOR_NO_LIMIT, 'none for no limit') : problem.message,
        })),
      );
    throw error;
  }
}

/** `--public-key FILE`, repeatable: the file's text (a JWK or a PEM public key), which the service reads and checks. */
function collectFile(file: string, files: string[]): string[] {
  try {
    return [...files, readFileSync(file, 'utf8')];
  } catch {
    throw new BadInput({ field: '--public-key', message: `cannot read ${file}` });
  }
}

/** `clients keys …`: the public keys a private_key_jwt client signs its assertions with. */
function addClientKeysCommands(clients: Command): void {
  const keys = clients.command('keys').description("manage a private_key_jwt client's public keys");
  keys
    .command('add')
    .description('add a public key (a JWK or PEM file); assertions signed with it authenticate the client at once')
    .argument('<id>', 'the client ID')
    .argument('<file>', 'the public key: a JWK (JSON) or a PEM "BEGIN PUBLIC KEY" file; a private key is refused')
    .option('--json', 'print the client as JSON')
    .action(async (id: string, file: string, options: Output) =>
      withServices(async (services) => {
        const text = collectFile(file, [])[0]!;
        const client = await services.clients.addKey(SYSTEM_ACTOR, id, text);
        const key = client.publicKeys.at(-1);
        print(options, client, `added key ${key?.kid ?? ''} (${key?.alg ?? ''}) to ${client.id}`);
      }),
    );
  keys
    .command('remove')
    .description('remove a key; assertions signed with it, and the tokens it authenticated, stop working at once')
    .argument('<id>', 'the client ID')
    .argument('<kid>', "the key's kid")
    .option('--json', 'print {"removed": kid}')
    .action(async (id: string, kid: string, options: Output) =>
      withServices(async (services) => {
        await services.clients.removeKey(SYSTEM_ACTOR, id, kid);
        print(options, { removed: kid }, `removed key ${kid} from ${id.toLowerCase()}`);
      }),
    );
}

/** `clients federated …`: the outside identities (CI jobs, Kubernetes service accounts) that may exchange their OIDC token for a client's tokens. */
function addFederatedCommands(clients: Command): void {
  const federated = clients.command('federated').description("manage a client's federated credentials (workload identity federation, no secret)");
  federated
    .command('add')
    .description("let a workload whose OIDC token matches exchange it for the client's tokens (RFC 8693)")
    .argument('<id>', 'the client ID')
    .requiredOption('--name <name>', 'what the credential is for, unique within the client')
    .requiredOption('--issuer <url>', 'the OIDC issuer, exactly as the token’s iss, e.g. https://token.actions.githubusercontent.com')
    .requiredOption('--audience <aud>', 'a value the token’s aud must hold')
    .requiredOption('--subject <sub>', 'the token’s sub exactly, or a prefix ending in *, e.g. repo:ORG/REPO:ref:refs/heads/main')
    .option('--condition <claim=value>', 'a further claim the token must carry with exactly this value (repeatable)', collectCondition, {})
    .option('--json', 'print the credential as JSON')
    .action(async (id: string, options: Output & { name: string; issuer: string; audience: string; subject: string; condition: Record<string, string> }) =>
      withServices(async (services) => {
        const credential = await namingFederationFlags(() =>
          services.federation.add(SYSTEM_ACTOR, id, {
            name: options.name,
            issuer: options.issuer,
            audience: options.audience,
            subject: options.subject,
            conditions: options.condition,
          }),
        );
        print(options, credential, `added federated credential ${credential.id} (${credential.name}) to ${id.toLowerCase()}`);
      }),
    );
  federated
    .command('list')
    .description("list a client's federated credentials")
    .argument('<id>', 'the client ID')
    .option('--json', 'print {"items": [...]}')
    .action(async (id: string, options: Output) =>
      withServices(async (services) => {
        const items = await services.federation.list(SYSTEM_ACTOR, id);
        const lines = items.map((item) =>
          [item.id, item.name, item.issuer, item.audience, item.subject, JSON.stringify(item.conditions), item.lastUsedAt ?? 'never'].join('  '),
        );
        print(options, { items }, lines.length === 0 ? 'no federated credentials' : lines.join('\n'));
      }),
    );
  federated
    .command('remove')
    .description('remove a federated credential; the tokens minted through it stop working at once')
    .argument('<id>', 'the client ID')
    .argument('<fcId>', 'the federated credential id')
    .option('--json', 'print {"removed": fcId}')
    .action(async (id: string, fcId: string, options: Output) =>
      withServices(async (services) => {
        await services.federation.remove(SYSTEM_ACTOR, id, fcId);
        print(options, { removed: fcId.toLowerCase() }, `removed federated credential ${fcId.toLowerCase()}`);
      }),
    );
}

/** `users …`: console users. */
function addUsersCommands(program: Command): void {
  const users = program.command('users').description('manage console users');
  users
    .command('create')
    .description('create a console user; the password is read from stdin unless --password is given')
    .requiredOption('--email <email>', 'the sign-in email (unique regardless of case)')
    .option('--name <name>', 'the display name')
    .option('--role <role...>', 'role names or ids (repeatable)')
    .option('--password <password>', 'the password (prefer stdin: arguments show up in process lists)')
    .option('--json', 'print the user as JSON')
    .action(async (options: Output & { email: string; name?: string; role?: string[]; password?: string }) => {
      const password = options.password ?? (await readStdin());
      if (password === '') throw new BadInput({ field: '--password', message: 'is required: pass it on stdin or with --password' });
      await withServices(async (services) => {
        const roleIds: string[] = [];
        for (const role of options.role ?? []) roleIds.push((await services.roles.resolve(SYSTEM_ACTOR, role)).id);
        const user = await services.users.create(SYSTEM_ACTOR, { email: options.email, name: options.name ?? null, password, roleIds });
        print(options, user, `created ${user.email} (${user.id}) with roles: ${user.roles.map((role) => role.name).join(', ') || '(none)'}`);
      });
    });
}

/** `keys …`: token signing keys. */
function addKeysCommands(program: Command): void {
  const keys = program.command('keys').description('manage token signing keys');
  keys
    .command('rotate')
    .description('make a new signing key sign from now on; old keys keep verifying until their tokens expire')
    .option('--json', 'print {"kid"}')
    .action(async (options: Output) =>
      withServices(async (services) => {
        const kid = await services.signingKeys.rotate(SYSTEM_ACTOR);
        print(options, { kid }, `new signing key ${kid} signs from now on; earlier keys verify until their tokens have expired`);
      }),
    );
}

/** `master-key …`: the key that seals the other keys. */
function addMasterKeyCommands(program: Command): void {
  const masterKey = program.command('master-key').description('manage the master key that seals the signing keys and the client-secret key');
  masterKey
    .command('rotate')
    .description('re-seal every key under a new master key in one transaction; then restart every instance with the new key')
    .requiredOption('--new-key-file <path>', 'the new key: read from this file, or generated into it (mode 0600) when it does not exist')
    .option('--json', 'print {"masterKeyId","keyFile","generated","signingKeys"}')
    .action(async (options: Output & { newKeyFile: string }) =>
      withServices(async (services) => {
        const existing = readKeyFile(options.newKeyFile, '--new-key-file');
        const next = createMasterKey(existing ?? writeKeyFile(options.newKeyFile, '--new-key-file'), 'KOIOS_MASTER_KEY_FILE');
        const result = await services.rotateMasterKey(next);
        print(
          options,
          { masterKeyId: result.masterKeyId, keyFile: options.newKeyFile, generated: existing === null, signingKeys: result.signingKeys },
          [
            `${existing === null ? 'Generated a new master key in' : 'Read the new master key from'} ${options.newKeyFile} (id ${result.masterKeyId}).`,
            `Re-sealed the client-secret key and ${result.signingKeys} signing key(s) under it: the old master key no longer opens them.`,
            `Restart every instance with KOIOS_MASTER_KEY_FILE=${options.newKeyFile} (or the key in KOIOS_MASTER_KEY), then destroy the old key and its backups.`,
          ].join('\n'),
        );
      }),
    );
}

interface UsageOptions extends Output {
  from?: string;
  to?: string;
  granularity?: string;
}

const usageRange = (options: UsageOptions) => ({ from: options.from ?? null, to: options.to ?? null, granularity: options.granularity ?? null });

/** The usage figures as a table: one line per hour or day, refusals by reason at the end. */
function usageTable(usage: ClientUsage): string {
  const lines = usage.buckets.map((bucket) => {
    const refusals = Object.entries(bucket.refusals)
      .map(([reason, count]) => `${reason}=${count}`)
      .join(' ');
    return [bucket.start, String(bucket.tokens).padStart(8), String(bucket.rest).padStart(8), String(bucket.graphql).padStart(8), ` ${refusals || '-'}`].join(
      ' ',
    );
  });
  return [`${usage.granularity.padEnd(24)}   tokens     rest  graphql  refusals`, ...lines].join('\n');
}

/** `--from`, `--to` and `--granularity`, as the usage routes take them. */
function withUsageRange(command: Command): Command {
  return command
    .option('--from <time>', 'ISO 8601 date or time (default: 24 hours, or 30 days by day, before --to)')
    .option('--to <time>', 'ISO 8601 date or time, exclusive (default: now)')
    .addOption(new Option('--granularity <unit>', 'one line per hour or per UTC day').choices(['hour', 'day']))
    .option('--json', 'print the figures as JSON, as the REST API answers them');
}

/** The services name the range's fields; the CLI user typed flags. */
const usageFlags = renameFields({ from: '--from', to: '--to', granularity: '--granularity', limit: '--limit' });

/** `koios usage` (every client) and `koios clients usage|refusals <id>`. */
function addUsageCommands(program: Command): void {
  withUsageRange(
    program
      .command('usage')
      .description('usage of every client by hour or day: tokens, REST and GraphQL requests, refusals, the busiest clients and rising refusals'),
  ).action(async (options: UsageOptions) =>
    withServices(async (services) => {
      const usage = await namingFields(usageFlags, () => services.usage.fleetUsage(SYSTEM_ACTOR, usageRange(options)));
      const top = usage.top.map((entry) => `${entry.client.id}  ${entry.client.name}: ${entry.requests} requests, ${entry.refusals} refusals`);
      const rising = usage.risingRefusals.map(
        (entry) => `${entry.client.id}  ${entry.client.name}: ${entry.refusals} refusals, ${entry.previousRefusals} the span before`,
      );
      const lines = [usageTable(usage), '', 'busiest clients:', ...(top.length === 0 ? ['(none)'] : top)];
      lines.push('', 'refused more than in the span before:', ...(rising.length === 0 ? ['(none)'] : rising));
      print(options, usage, lines.join('\n'));
    }),
  );

  const clients = program.commands.find((command) => command.name() === 'clients')!;
  withUsageRange(clients.command('usage').description('one client’s usage by hour or day').argument('<id>', 'the client ID')).action(
    async (id: string, options: UsageOptions) =>
      withServices(async (services) => {
        const usage = await namingFields(usageFlags, () => services.usage.clientUsage(SYSTEM_ACTOR, id, usageRange(options)));
        print(options, usage, usageTable(usage));
      }),
  );
  clients
    .command('refusals')
    .description('one client’s latest refusals, newest first: time, reason, address')
    .argument('<id>', 'the client ID')
    .option('--limit <n>', 'at most this many (1 to 100)', '20')
    .option('--json', 'print {"items"} as the REST API answers it')
    .action(async (id: string, options: Output & { limit: string }) =>
      withServices(async (services) => {
        const refusals = await namingFields(usageFlags, () => services.usage.recentRefusals(SYSTEM_ACTOR, id, parsePositive(options.limit)));
        print(
          options,
          refusals,
          refusals.items.length === 0 ? 'no refusals' : refusals.items.map((item) => `${item.at}  ${item.reason.padEnd(20)}  ${item.address}`).join('\n'),
        );
      }),
    );
}

/** `roles …`: read-only. */
function addRolesCommands(program: Command): void {
  const roles = program.command('roles').description('inspect roles');
  roles
    .command('list')
    .description('list roles and their permissions')
    .option('--json', 'print the roles as JSON')
    .action(async (options: Output) =>
      withServices(async (services) => {
        const list = await services.roles.list(SYSTEM_ACTOR);
        print(
          options,
          list,
          list.map((role) => `${role.id}  ${role.name}${role.builtIn ? ' (built-in)' : ''}: ${role.permissions.join(' ') || '(no permissions)'}`).join('\n'),
        );
      }),
    );
}

/** Runs the CLI; errors become one line on stderr and exit code 1 (2 for usage errors). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof ConfigError || error instanceof DomainError) {
      process.stderr.write(`koios: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`koios: ${(error as Error).message}\n`);
    return 1;
  }
}
