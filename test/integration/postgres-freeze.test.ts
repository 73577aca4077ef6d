import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, me, seedClients, sleep, timeUntil } from '../support/fault-load.js';
import { accessToken, type ClientCredentials } from '../support/oauth.js';
import { createPrivatePostgres, privatePostgresAvailable, type PrivatePostgres } from '../support/private-postgres.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';

/** The loose ceiling a caller waits for its answer while the database answers nothing. */
const PROMPT_MS = 3000;

/**
 * Every PostgreSQL process frozen (SIGSTOP): connections open but nothing answers. Anything that
 * needs the database is answered 503 promptly, bounded by the connect, statement and client-side
 * timeouts, instead of waiting for the database to wake; once it does, the server serves again.
 */
describe.runIf(privatePostgresAvailable())('a server whose PostgreSQL is frozen', () => {
  let cluster: PrivatePostgres;
  let server: ServerProcess;
  let administrator: ClientCredentials;
  let plain: ClientCredentials;

  beforeAll(async () => {
    cluster = await createPrivatePostgres();
    const seeded = await seedClients(cluster.url);
    ({ administrator, plain } = seeded);
    server = await startServerProcess({ env: seeded.env });
  }, 120_000);

  afterAll(async () => {
    cluster?.thaw();
    await server?.stop('SIGKILL');
    await cluster?.destroy();
  });

  it('answers 503 within 3 s for the list, /me and the token endpoint, and serves again within 2 s of the thaw', async () => {
    const administratorToken = await accessToken(server.url, administrator);
    const plainToken = await accessToken(server.url, plain);
    const list = () => call(`${server.url}/api/v1/clients`, { headers: { authorization: `Bearer ${administratorToken}` } });
    const token = () =>
      call(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: plain.id, client_secret: plain.secret }),
      });
    expect((await list()).status).toBe(200);

    cluster.freeze();
    let answers;
    try {
      // The list reads the database at once; /me and the token endpoint may answer from the
      // cache for the second the change listener is still trusted, so they are asked after it.
      const firstList = list();
      await sleep(1100);
      answers = await Promise.all([firstList, list(), me(server.url, plainToken), token(), call(`${server.url}/readyz`)]);
    } finally {
      cluster.thaw();
    }

    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.answeredAt - answer.sentAt).toBeLessThan(PROMPT_MS);
    }
    expect(answers.slice(0, 3).map((answer) => answer.code)).toEqual(['unavailable', 'unavailable', 'unavailable']);
    expect(answers[3]!.code).toBe('temporarily_unavailable');
    expect(server.crashed()).toBe(false);

    const recovery = await timeUntil(200, list, 10_000);
    expect(recovery).not.toBeNull();
    expect(recovery!).toBeLessThan(2000);
    expect((await me(server.url, plainToken)).status).toBe(200);
  }, 60_000);
});
