import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { BadInput } from '../../errors.js';
import { encodeCursor } from '../../db/pagination.js';
import type { Services } from '../../services.js';
import { clientRow, insertClientRows, type ClientRow } from '../../../../test/support/client-rows.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';
import type { ListClientsInput } from './clients.service.js';

/*
 * Keyset pagination over 25,000 clients, inserted in bulk straight into the table (one service
 * call each would take minutes). Every expectation is computed in JS from the same deterministic
 * data: the order with the repository's sort keys (name_key / created_at / last_used_at ?? '',
 * then id) in byte order, and the filters by brute force. Keyset order is the same at any size;
 * what the size must give is many ties on every sort key, pages far from either end, and searches
 * matching more than a page: about a dozen clients share each creation and last-used time, and
 * a quarter share a few names. How the costs grow with millions of clients is the bench's work.
 */

const CLIENT_COUNT = 25_000;
const PAGE = 200;
const MAX_PAGES = Math.ceil(CLIENT_COUNT / PAGE) + 2;

/** mulberry32: small, fast and deterministic. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Byte order of the UTF-8 encodings (SQLite's BINARY collation, PostgreSQL's "C"), which is code
 * point order. UTF-16 code-unit order differs only when a surrogate (a code point above U+FFFF)
 * meets a unit in U+E000..U+FFFF: shifting the units fixes that.
 */
function compareBytes(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixUnit(x) - fixUnit(y);
  }
  return a.length - b.length;
}
function fixUnit(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

// Equal name keys (several spellings of one name) exercise the id tie-breaker; the non-ASCII
// ones include a fullwidth letter (U+FF3A) and an emoji (surrogate pair), whose relative order is
// where UTF-16 and UTF-8 disagree; '%', '_' and '\' must be searched literally.
const TIE_NAMES = [
  'Shared',
  'shared',
  'SHARED',
  'Ölwerk',
  'ölwerk',
  'ÖLWERK',
  '東京',
  '東京 export',
  'Ωmega',
  'éclair',
  'Ｚulu',
  'ｚulu',
  '🚀 Rocket',
  '🚀 rocket',
  'Straße',
  'Promo 50% off',
  'Promo 500 off',
  'snake_case',
  'snakeXcase',
  'C:\\temp',
  'Zeta',
  'alpha',
];
const WORDS = [
  'Billing',
  'export',
  'Warehouse',
  'sync',
  'Ledger',
  'audit',
  'Koios',
  'Reporting',
  'crm',
  'Payroll',
  'Data',
  'Lake',
  'Mobile',
  'gateway',
  'Ingest',
];
const BASE_TIME = Date.UTC(2025, 0, 1);

function generateClients(): ClientRow[] {
  const random = prng(20261127);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const hex = (digits: number) => Array.from({ length: digits }, () => int(16).toString(16)).join('');
  const seen = new Set<string>();
  const rows: ClientRow[] = [];
  while (rows.length < CLIENT_COUNT) {
    const id = `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const casing = (word: string) => [word, word.toLowerCase(), word.toUpperCase()][int(3)]!;
    const name = random() < 0.25 ? pick(TIE_NAMES) : `${casing(pick(WORDS))} ${casing(pick(WORDS))} ${int(1000)}`;
    // Non-ASCII in both cases too: search folds case the same way on both dialects (migration 0005).
    const description =
      random() < 0.35
        ? `${pick(['Nightly', 'Hourly', 'Weekly'])} export to ${pick(['warehouse', 'lake', 'ledger', 'ÉCOLE', 'école', 'Straße'])} ${int(100)}, owner team-${int(40)}`
        : null;
    // ~2,000 distinct creation times for 25,000 clients, ~1,250 last-used times for the 15,000
    // used ones: many equal timestamps.
    const createdAt = new Date(BASE_TIME + int(2000) * 60_000).toISOString();
    const lastUsedAt = random() < 0.4 ? null : new Date(BASE_TIME + 2000 * 60_000 + int(1250) * 1000).toISOString();
    const enabled = random() >= 0.3;
    rows.push(clientRow(rows.length, { id, name, description, enabled, createdAt, lastUsedAt }));
  }
  return rows;
}

type SortField = 'name' | 'createdAt' | 'lastUsedAt';

const CLIENTS = generateClients();
const BY_ID = new Map(CLIENTS.map((row) => [row.id, row]));

function sortValue(field: SortField, row: ClientRow): string {
  return field === 'name' ? row.name_key : field === 'createdAt' ? row.created_at : (row.last_used_at ?? '');
}

function ordered(rows: readonly ClientRow[], sort: string): string[] {
  const descending = sort.startsWith('-');
  const field = (descending ? sort.slice(1) : sort) as SortField;
  const keyed = rows.map((row) => ({ key: sortValue(field, row), id: row.id }));
  keyed.sort((a, b) => compareBytes(a.key, b.key) || compareBytes(a.id, b.id));
  const ids = keyed.map((entry) => entry.id);
  return descending ? ids.reverse() : ids;
}

/** The service's filters, by brute force: trimmed, case-insensitive, literal substring of name, description or id. */
function matching(search: string | null, status: 'enabled' | 'disabled' | null): ClientRow[] {
  const needle = search?.trim().toLowerCase() ?? '';
  return CLIENTS.filter(
    (row) =>
      (status === null || row.enabled === (status === 'enabled' ? 1 : 0)) &&
      (needle === '' || row.name_key.includes(needle) || (row.description ?? '').toLowerCase().includes(needle) || row.id.includes(needle)),
  );
}

describe.each(testDialects())(`API client keyset pagination over ${CLIENT_COUNT.toLocaleString('en')} clients on %s`, (dialect) => {
  let database: TestDatabase;
  let services: Services;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
    await insertClientRows(database.handle.db, dialect, CLIENTS);
    if (dialect === 'postgres') await database.handle.pool!.query('analyze api_clients');
  }, 300_000);

  afterAll(async () => {
    await services?.stop();
    await database?.drop();
  });

  /** Follows nextCursor to the end (or maxPages), checking the page shape and that `total` never moves. */
  async function walk(input: Omit<ListClientsInput, 'cursor' | 'limit'>, maxPages = MAX_PAGES, start: string | null = null) {
    const ids: string[] = [];
    const totals = new Set<number>();
    let cursor = start;
    for (let pages = 0; pages < maxPages; pages++) {
      const page = await services.clients.list(SYSTEM_ACTOR, { ...input, limit: PAGE, cursor });
      totals.add(page.total);
      ids.push(...page.items.map((item) => item.id));
      if (page.nextCursor === null) {
        return { ids, totals: [...totals], complete: true };
      }
      expect(page.items).toHaveLength(PAGE);
      cursor = page.nextCursor;
    }
    return { ids, totals: [...totals], complete: false };
  }

  /** Where the first difference is, readable in a failure message (a 25,000-element diff is not). */
  function firstDifference(ids: readonly string[], expected: readonly string[]) {
    const index = ids.findIndex((id, i) => id !== expected[i]);
    return index === -1 ? null : { index, got: ids.slice(index, index + 3), expected: expected.slice(index, index + 3) };
  }

  it('stored the generated clients', async () => {
    const row = await database.handle.db
      .selectFrom('api_clients')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(row.n)).toBe(CLIENT_COUNT);
  });

  // Every sort is walked in full (125 pages at limit 200): name has the non-ASCII and tied keys,
  // lastUsedAt the expression index and the 10,000 never-used clients at one end.
  it.each(['name', '-name', 'createdAt', '-createdAt', 'lastUsedAt', '-lastUsedAt'])(
    'walks every client exactly once, in order, sorted by %s',
    async (sort) => {
      const expected = ordered(CLIENTS, sort);
      const { ids, totals, complete } = await walk({ sort });
      expect(complete).toBe(true);
      expect(totals).toEqual([CLIENT_COUNT]);
      expect(new Set(ids).size).toBe(CLIENT_COUNT);
      expect(firstDifference(ids, expected)).toBeNull();
      expect(ids).toHaveLength(CLIENT_COUNT);
    },
    120_000,
  );

  const neverUsed = CLIENTS.filter((row) => row.last_used_at === null).length;
  // A cursor need not come from a page boundary: 8-page windows from cursors made at deep
  // positions (for lastUsedAt, across the never-used/used boundary), the last one running to the end.
  it.each(['-name', 'createdAt', '-createdAt', 'lastUsedAt'])(
    'pages in order sorted by %s from cursors at deep positions to the end',
    async (sort) => {
      const expected = ordered(CLIENTS, sort);
      const field = (sort.startsWith('-') ? sort.slice(1) : sort) as SortField;
      const starts = [neverUsed - 3 * PAGE + 7, CLIENT_COUNT / 2 + 1, CLIENT_COUNT * 0.9, CLIENT_COUNT - 5 * PAGE - 13];
      for (const start of starts) {
        const before = BY_ID.get(expected[start - 1]!)!;
        const cursor = encodeCursor({ sort, value: sortValue(field, before), id: before.id });
        const window = await walk({ sort }, 8, cursor);
        expect(window.totals).toEqual([CLIENT_COUNT]);
        expect(firstDifference(window.ids, expected.slice(start))).toBeNull();
        expect(window.complete).toBe(start + window.ids.length === CLIENT_COUNT);
      }
      // The last window reached the end.
      expect(CLIENT_COUNT - starts.at(-1)!).toBeLessThan(8 * PAGE);
    },
    120_000,
  );

  it('shows each client as stored, first page of -createdAt (the default sort)', async () => {
    const page = await services.clients.list(SYSTEM_ACTOR, { limit: PAGE });
    expect(page.total).toBe(CLIENT_COUNT);
    const expected = ordered(CLIENTS, '-createdAt').slice(0, PAGE);
    expect(page.items.map((item) => item.id)).toEqual(expected);
    for (const item of page.items) {
      const row = BY_ID.get(item.id)!;
      expect(item).toEqual({
        id: row.id,
        name: row.name,
        description: row.description,
        enabled: row.enabled === 1,
        role: null,
        secretHint: row.secret_hint,
        secretExpiresAt: null,
        previousSecret: null,
        allowedCidrs: [],
        rateLimit: { requestsPerMinute: null, tokensPerMinute: null },
        authMethod: 'client_secret',
        publicKeys: [],
        requireDpop: false,
        lastUsedAt: row.last_used_at,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        requests7d: 0,
      });
    }
  });

  it('orders the non-ASCII and tied names in byte order, the id breaking ties', async () => {
    // The samples sort differently in UTF-16 code units than in bytes: the comparison is not vacuous.
    expect('ｚulu' < '🚀 rocket').toBe(false);
    expect(compareBytes('ｚulu', '🚀 rocket')).toBeLessThan(0);
    const expected = ordered(CLIENTS, '-name');
    const { ids } = await walk({ sort: '-name' }, 5);
    expect(ids).toEqual(expected.slice(0, ids.length));
    expect(BY_ID.get(ids[0]!)!.name_key).toBe('🚀 rocket');
  });

  it.each([
    { status: 'enabled' as const, sort: '-createdAt' },
    { status: 'disabled' as const, sort: 'lastUsedAt' },
  ])(
    'filters by status $status ($sort)',
    async ({ status, sort }) => {
      const expected = ordered(matching(null, status), sort);
      const { ids, totals, complete } = await walk({ status, sort });
      expect(complete).toBe(true);
      expect(totals).toEqual([expected.length]);
      expect(ids).toEqual(expected);
    },
    120_000,
  );

  const idSample = CLIENTS[12_345]!.id;
  it.each([
    { what: 'a name substring in another case', search: 'ILLING' },
    { what: 'a non-ASCII name substring in another case', search: 'ÖLWE' },
    { what: 'a CJK name', search: '東京' },
    { what: 'a fullwidth name in another case', search: 'ＺU' },
    { what: 'a description substring', search: 'Warehouse 4' },
    { what: 'a non-ASCII description substring in another case', search: 'École' },
    { what: 'a description substring with surrounding spaces', search: '  OWNER TEAM-7  ' },
    { what: 'an upper-cased client id prefix', search: idSample.slice(0, 7).toUpperCase() },
    { what: 'a whole client id', search: idSample },
    { what: 'a literal %', search: '50% OFF' },
    { what: 'a literal _', search: 'e_c' },
    { what: 'a literal backslash', search: ':\\t' },
    { what: 'a string matching nothing', search: 'no-such-client-zzz' },
  ])('searches $what ($search) as a brute-force filter does', async ({ search }) => {
    const expected = ordered(matching(search, null), 'name');
    const { ids, totals, complete } = await walk({ search, sort: 'name' });
    expect(complete).toBe(true);
    expect(totals).toEqual([expected.length]);
    expect(ids).toEqual(expected);
  });

  it('takes % and _ literally, where a wildcard would match more', () => {
    expect(matching('50% off', null).every((row) => row.name === 'Promo 50% off')).toBe(true);
    expect(matching('e_c', null).every((row) => row.name === 'snake_case')).toBe(true);
    expect(CLIENTS.some((row) => row.name === 'Promo 500 off')).toBe(true);
    expect(CLIENTS.some((row) => row.name === 'snakeXcase')).toBe(true);
    expect(matching('e_c', null).length).toBeGreaterThan(0);
    expect(matching(idSample.slice(0, 7), null).length).toBeGreaterThan(0);
    expect(matching('no-such-client-zzz', null)).toEqual([]);
  });

  it.each([
    { search: 'shared', status: 'disabled' as const, sort: '-lastUsedAt' },
    { search: 'iLLing', status: 'enabled' as const, sort: '-name' },
    { search: 'to lake', status: 'enabled' as const, sort: '-createdAt' },
  ])('combines search $search, status $status and sort $sort', async ({ search, status, sort }) => {
    const expected = ordered(matching(search, status), sort);
    expect(expected.length).toBeGreaterThan(PAGE);
    const { ids, totals, complete } = await walk({ search, status, sort });
    expect(complete).toBe(true);
    expect(totals).toEqual([expected.length]);
    expect(ids).toEqual(expected);
  });

  it('refuses a cursor made for another sort, and a garbage cursor', async () => {
    const byName = await services.clients.list(SYSTEM_ACTOR, { limit: 10, sort: 'name' });
    const cursor = byName.nextCursor!;
    expect(cursor).toEqual(expect.any(String));
    for (const sort of ['-name', 'createdAt', '-lastUsedAt']) {
      await expect(services.clients.list(SYSTEM_ACTOR, { limit: 10, sort, cursor })).rejects.toBeInstanceOf(BadInput);
    }
    const garbage = [
      'garbage!',
      'abc',
      Buffer.from('not json', 'utf8').toString('base64url'),
      Buffer.from(JSON.stringify(['name', { nested: true }, 'x']), 'utf8').toString('base64url'),
      Buffer.from(JSON.stringify(['name', 'a']), 'utf8').toString('base64url'),
      'x'.repeat(2000),
    ];
    for (const bad of garbage) {
      const error = await services.clients.list(SYSTEM_ACTOR, { limit: 10, sort: 'name', cursor: bad }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadInput);
      expect((error as BadInput).problems[0]!.field).toBe('cursor');
    }
    // The same cursor still works with its own sort.
    const next = await services.clients.list(SYSTEM_ACTOR, { limit: 10, sort: 'name', cursor });
    expect(next.items.map((item) => item.id)).toEqual(ordered(CLIENTS, 'name').slice(10, 20));
  });
});
