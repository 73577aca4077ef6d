import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../actor.js';
import type { Services } from '../services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../test/support/databases.js';
import { sql } from 'kysely';
import { trigramQuery } from './pagination.js';
import { mergeSearchIndexes, rareTrigramQuery } from './search-indexes.js';

/*
 * The substring searches read candidates from trigram indexes (FTS5 tables kept by triggers on
 * SQLite, pg_trgm on PostgreSQL): a change to a client or a new audit entry must be found, and a
 * renamed or deleted client no longer, at once.
 */
describe.each(testDialects())('substring search indexes on %s', (dialect) => {
  let database: TestDatabase;
  let services: Services;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    services = await createTestServices(database);
  });
  afterAll(async () => {
    await services.stop();
    await database.drop();
  });

  const foundIds = async (search: string) => (await services.clients.list(SYSTEM_ACTOR, { search })).items.map((client) => client.id);

  it('finds a client by its new name, description and id after a change, and no longer after its deletion', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'Quarzite Feeder', description: 'Nightly Zephyrine run' });
    expect(await foundIds('RZITE FEE')).toEqual([client.id]);
    expect(await foundIds('zephyrine')).toEqual([client.id]);
    expect(await foundIds(client.id.slice(9, 23).toUpperCase())).toEqual([client.id]);

    await services.clients.update(SYSTEM_ACTOR, client.id, { name: 'Basaltic Feeder', description: null });
    expect(await foundIds('quarzite')).toEqual([]);
    expect(await foundIds('zephyrine')).toEqual([]);
    expect(await foundIds('basaltic')).toEqual([client.id]);
    expect((await services.clients.list(SYSTEM_ACTOR, { search: 'basaltic' })).total).toBe(1);

    await services.clients.delete(SYSTEM_ACTOR, client.id);
    expect(await foundIds('basaltic')).toEqual([]);
    expect(await foundIds(client.id.slice(9, 23))).toEqual([]);
    // The audit entries stay, and are found by the client's name and by its id.
    expect((await services.audit.list(SYSTEM_ACTOR, { search: 'BASALTIC FEE' })).items.map((event) => event.action)).toContain('client.deleted');
    const ofClient = (await services.audit.list(SYSTEM_ACTOR, { targetId: client.id })).items;
    expect(ofClient.length).toBeGreaterThanOrEqual(3);
    expect((await services.audit.list(SYSTEM_ACTOR, { search: client.id.slice(0, 13) })).items).toEqual(ofClient);
  });

  it('finds the same clients and audit entries after housekeeping merges the search tables, which leaves fewer segments', async () => {
    // One transaction each, so each is its own segment of the SQLite search tables until merged.
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await services.clients.create(SYSTEM_ACTOR, { name: `Merge Probe ${i}`, description: `Obsidian ${i}` })).client.id);
    const segments = async () =>
      dialect === 'sqlite'
        ? Number((await sql<{ n: number }>`select count(distinct segid) as n from api_clients_search_idx`.execute(database.handle.db)).rows[0]!.n)
        : 0;
    const before = await segments();
    const auditBefore = (await services.audit.list(SYSTEM_ACTOR, { search: 'merge probe' })).items;
    expect(auditBefore.length).toBeGreaterThanOrEqual(6);

    // A few segments: one run merges them all.
    expect(await mergeSearchIndexes(database.handle.db)).toBe(true);
    if (dialect === 'sqlite') expect(await segments()).toBeLessThan(before);
    expect((await foundIds('merge probe')).sort()).toEqual([...ids].sort());
    expect(await foundIds('obsidian 3')).toEqual([ids[3]]);
    expect((await services.audit.list(SYSTEM_ACTOR, { search: 'merge probe' })).items).toEqual(auditBefore);
    // Changes after the merge are found at once, as before it.
    await services.clients.update(SYSTEM_ACTOR, ids[0]!, { name: 'Merged Probe' });
    expect(await foundIds('merged probe')).toEqual([ids[0]]);
  });

  it('counts every match of a search in total, on its first page and the next ones, as a scan of every row counts them', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await services.clients.create(SYSTEM_ACTOR, { name: `Tallyho Counter ${i}` })).client.id);
    ids.push((await services.clients.create(SYSTEM_ACTOR, { name: 'Other Counter', description: 'feeds the TALLYHO job' })).client.id);
    await services.clients.update(SYSTEM_ACTOR, ids[1]!, { enabled: false });
    await services.clients.update(SYSTEM_ACTOR, ids[7]!, { enabled: false });
    const scanned = async (search: string, enabled?: number) => {
      const pattern = `%${search.toLowerCase()}%`;
      const row = await sql<{ n: number | string }>`select count(*) as n from api_clients
        where (name_key like ${pattern} or coalesce(description_key, '') like ${pattern} or id like ${pattern})
        and ${enabled === undefined ? sql`true` : sql`enabled = ${enabled}`}`.execute(database.handle.db);
      return Number(row.rows[0]!.n);
    };

    const first = await services.clients.list(SYSTEM_ACTOR, { search: 'tallyho', limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.total).toBe(8);
    expect(first.total).toBe(await scanned('tallyho'));
    let page = first;
    const seen = [...first.items.map((client) => client.id)];
    while (page.nextCursor !== null) {
      page = await services.clients.list(SYSTEM_ACTOR, { search: 'tallyho', limit: 3, cursor: page.nextCursor });
      expect(page.total).toBe(8);
      seen.push(...page.items.map((client) => client.id));
    }
    expect(seen.sort()).toEqual([...ids].sort());

    const disabled = await services.clients.list(SYSTEM_ACTOR, { search: 'tallyho', status: 'disabled', limit: 1 });
    expect(disabled.total).toBe(2);
    expect(disabled.total).toBe(await scanned('tallyho', 0));
    expect((await services.clients.list(SYSTEM_ACTOR, { search: 'counter 5' })).total).toBe(1);
    // No match: the page has no row to count on.
    expect((await services.clients.list(SYSTEM_ACTOR, { search: 'tallyhoo' })).total).toBe(0);
    // Shorter than a trigram: no index, the same count.
    const short = await services.clients.list(SYSTEM_ACTOR, { search: 'ho', limit: 1 });
    expect(short.total).toBe(await scanned('ho'));
    expect(short.total).toBeGreaterThanOrEqual(8);
  });

  it('looks up candidates by the rarest trigrams of a search, and finds what a scan of every row finds', async () => {
    const common: string[] = [];
    for (let i = 0; i < 40; i++) common.push((await services.clients.create(SYSTEM_ACTOR, { name: `Commonplace Widget ${i}` })).client.id);
    const rare = (await services.clients.create(SYSTEM_ACTOR, { name: 'Commonplace Zyxwvq' })).client.id;
    if (dialect === 'sqlite') {
      const phrase = await rareTrigramQuery(database.handle.db, 'monplace zyxw');
      // The trigrams of "zyxw" and its space are in one client; "mon", "pla", … are in 41.
      expect(phrase).not.toBeNull();
      expect(phrase).not.toMatch(/"mon"|"onp"|"npl"|"pla"|"lac"|"ace"/);
      expect(phrase!.split(' AND ').length).toBeLessThanOrEqual(3);
      // A trigram no client has is the whole query.
      expect(await rareTrigramQuery(database.handle.db, 'commonplace qqq')).toMatch(/^"(e q| qq|qqq)"$/);
      expect(await rareTrigramQuery(database.handle.db, 'zy')).toBeNull();
    }
    expect(await foundIds('monplace zyxw')).toEqual([rare]);
    expect(await foundIds('PLACE ZYXWVQ')).toEqual([rare]);
    expect(await foundIds('commonplace qqq')).toEqual([]);
    expect((await foundIds('place widget 1')).sort()).toEqual(common.filter((_, i) => String(i).startsWith('1')).sort());
    const all = await services.clients.list(SYSTEM_ACTOR, { search: 'commonplace', limit: 5 });
    expect(all.total).toBe(41);
    expect(all.items).toHaveLength(5);
  });

  it('takes quotes and the index query language as plain text', async () => {
    const { client } = await services.clients.create(SYSTEM_ACTOR, { name: 'Say "NEAR" AND OR* (x)' });
    expect(await foundIds('"near" and')).toEqual([client.id]);
    expect(await foundIds('or* (x')).toEqual([client.id]);
    expect(await foundIds('"near" or')).toEqual([]);
  });
});

describe('trigramQuery', () => {
  it('ANDs the trigrams of the lowered search at every third character and at its end, each quoted, and gives up below three characters', () => {
    expect(trigramQuery('AbAbA')).toBe('"aba"');
    expect(trigramQuery('illing data 50199')).toBe('"ill" AND "ing" AND " da" AND "ta " AND "501" AND "199"');
    expect(trigramQuery('abcdef')).toBe('"abc" AND "def"');
    expect(trigramQuery('a"bc')).toBe('"a""b" AND """bc"');
    expect(trigramQuery('東京')).toBeNull();
    expect(trigramQuery('x'.repeat(40))).toBe('"xxx"');
  });
});
