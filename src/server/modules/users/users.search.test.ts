import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import { BadInput } from '../../errors.js';
import { SEARCH_MAX_LENGTH } from '../../../shared/limits.js';
import { testDialects } from '../../../../test/support/databases.js';
import { graphqlClient } from '../../../../test/support/graphql.js';
import { actorWith } from '../../../../test/support/oauth.js';
import { fieldsOf, PASSWORD, rest, type Caller } from '../../../../test/support/rest.js';
import { startTestServer, type TestServer } from '../../../../test/support/server.js';
import type { User } from './users.service.js';

interface UserPage {
  items: User[];
  nextCursor: string | null;
  total: number;
}

/** The people of this suite: a fresh database holds them and nobody else. */
const PEOPLE = [
  { email: 'ada.lovelace@analytical.test', name: 'Ada Lovelace' },
  { email: 'grace@navy.test', name: 'Grace Hopper' },
  { email: 'alan@bletchley.test', name: 'Alan Turing' },
  { email: 'katherine@nasa.test', name: 'Katherine Johnson' },
  { email: 'percent@odd.test', name: '100% sure' },
  { email: 'under_score@odd.test', name: 'Underscore' },
  { email: 'elodie@ecole.test', name: 'Élodie Ünal' },
];

/** The emails a search should find, worked out here without a database: part of the name or the email, any case. */
const expected = (search: string) =>
  PEOPLE.filter((person) => `${person.name}\n${person.email}`.toLowerCase().includes(search.trim().toLowerCase()))
    .map((person) => person.email)
    .sort();

/**
 * `q` on GET /api/v1/users and `filter.search` on GraphQL `users`: one search in the users service,
 * through both doors, on both databases.
 */
describe.each(testDialects())('searching users on %s', (dialect) => {
  let server: TestServer;
  let admin: Caller & { token: string };

  const service = (search: string | null, limit = 50, cursor: string | null = null) => server.services.users.list(SYSTEM_ACTOR, { search, limit, cursor });
  const restPage = (query: string) => rest<UserPage>(server, 'GET', `/api/v1/users?${query}`, admin);

  beforeAll(async () => {
    server = await startTestServer(dialect);
    admin = { token: (await actorWith(server, 'users search admin', 'Administrator')).token };
    for (const person of PEOPLE) await server.services.users.create(SYSTEM_ACTOR, { ...person, password: PASSWORD });
  });
  afterAll(async () => server?.close());

  describe('in the users service', () => {
    it.each(['LOVE', 'lovelace', 'navy', 'Hopper', 'a', 'TEST', ' turing ', 'élodie', 'ÜNAL'])(
      'finds the users whose name or email contains %j, in any case, and counts them',
      async (search) => {
        const page = await service(search);
        expect(page.items.map((user) => user.email)).toEqual(expected(search));
        expect(page.total).toBe(expected(search).length);
        expect(page.nextCursor).toBeNull();
      },
    );

    it('treats % and _ as themselves, not as wildcards', async () => {
      expect((await service('%')).items.map((user) => user.email)).toEqual(['percent@odd.test']);
      expect((await service('_')).items.map((user) => user.email)).toEqual(['under_score@odd.test']);
      expect((await service('\\')).items).toEqual([]);
    });

    it('lists every user for no search, an empty one or only spaces', async () => {
      const everyone = await service(null);
      expect(everyone.total).toBe(PEOPLE.length);
      for (const search of ['', '   ']) {
        const page = await service(search);
        expect(page.items.map((user) => user.id)).toEqual(everyone.items.map((user) => user.id));
        expect(page.total).toBe(PEOPLE.length);
      }
    });

    it('pages through the matches only, by email, each exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: UserPage = await service('a', 2, cursor);
        expect(page.total).toBe(expected('a').length);
        seen.push(...page.items.map((user) => user.email));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(seen).toEqual(expected('a'));
      expect(pages).toBe(Math.ceil(expected('a').length / 2));
    });

    it('finds nobody for a search nobody matches', async () => {
      const page = await service('nobody-is-called-this');
      expect(page).toMatchObject({ items: [], total: 0, nextCursor: null });
    });

    it(`refuses a search longer than ${SEARCH_MAX_LENGTH} characters, naming search (its input's property)`, async () => {
      const error = await service('x'.repeat(SEARCH_MAX_LENGTH + 1)).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(BadInput);
      expect((error as BadInput).problems.map((problem) => problem.field)).toEqual(['search']);
    });
  });

  describe('through REST', () => {
    it('answers GET /api/v1/users?q= with the matches and their total', async () => {
      const answer = await restPage('q=LOVELACE');
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.items.map((user) => user.email)).toEqual(['ada.lovelace@analytical.test']);
      expect(answer.body.total).toBe(1);
      const navy = await restPage(`q=${encodeURIComponent('navy.test')}&limit=1`);
      expect(navy.body).toMatchObject({ total: 1, nextCursor: null });
    });

    it('gives the same users as the service for each search', async () => {
      for (const search of ['a', 'odd', '%']) {
        const answer = await restPage(`q=${encodeURIComponent(search)}`);
        expect(answer.body.items.map((user) => user.email)).toEqual(expected(search));
      }
    });

    it(`answers 400 naming q for a search longer than ${SEARCH_MAX_LENGTH} characters`, async () => {
      const answer = await restPage(`q=${'x'.repeat(SEARCH_MAX_LENGTH + 1)}`);
      expect(answer.status, answer.text).toBe(400);
      expect(fieldsOf(answer)).toEqual(['q']);
    });

    it('describes q in the OpenAPI document', async () => {
      const document = (
        await rest<{ paths: Record<string, Record<string, { parameters?: { name: string; in: string; schema: Record<string, unknown> }[] }>> }>(
          server,
          'GET',
          '/api/v1/openapi.json',
          null,
        )
      ).body;
      const q = document.paths['/api/v1/users']!['get']!.parameters!.find((parameter) => parameter.name === 'q');
      expect(q).toMatchObject({ in: 'query', schema: { type: 'string', maxLength: SEARCH_MAX_LENGTH } });
    });
  });

  describe('through GraphQL', () => {
    interface Users {
      users: { totalCount: number; pageInfo: { hasNextPage: boolean }; edges: { node: { email: string } }[] };
    }
    const QUERY =
      'query Search($search: String, $first: Int) { users(first: $first, filter: { search: $search }) { totalCount pageInfo { hasNextPage } edges { node { email } } } }';

    it('answers users(filter: { search }) with the same users and total as REST', async () => {
      const ask = graphqlClient(server, admin.token);
      for (const search of ['LOVE', 'a', 'odd', '_']) {
        const answer = await ask<Users>(QUERY, { search });
        expect(answer.errors).toEqual([]);
        const byRest = (await restPage(`q=${encodeURIComponent(search)}`)).body;
        expect(answer.data!.users.edges.map((edge) => edge.node.email)).toEqual(byRest.items.map((user) => user.email));
        expect(answer.data!.users.totalCount).toBe(byRest.total);
      }
      const all = await ask<Users>(QUERY, { search: null, first: 2 });
      expect(all.data!.users).toMatchObject({ totalCount: PEOPLE.length, pageInfo: { hasNextPage: true } });
    });

    it('answers a search that is too long BAD_USER_INPUT, naming filter.search', async () => {
      const answer = await graphqlClient(server, admin.token)(QUERY, { search: 'x'.repeat(SEARCH_MAX_LENGTH + 1) });
      expect(answer.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', problems: [{ field: 'filter.search', message: expect.any(String) }] });
    });
  });
});
