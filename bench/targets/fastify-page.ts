import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';
import { announceReady, fail, onShutdown } from './common.js';
import { benchDatabase } from './koios-database.js';
import { TWIN_PAGE_SQL, twinPage, type TwinRow } from './first-page-twin.js';

/**
 * The reference for a first page of clients: a bare Fastify route, no logger, no hooks, no
 * authentication, that reads the rows Koios's `GET /api/v1/clients?limit=50` reads (51, newest
 * first, each with its role's name, and the kept count) from the same database as the Koios target
 * of its dialect, with one prepared statement, and answers them as the API shows them. What Koios
 * does beyond this (the bearer check, the permission, rate limits, usage, the request counts of the
 * last 7 days) is what the ratio measures.
 */
async function main(): Promise<void> {
  const { dialect, seedConfig, schema } = benchDatabase();
  let read: () => Promise<TwinRow[]>;
  let close: () => Promise<void>;
  if (dialect === 'sqlite') {
    const database = new Database(seedConfig.dialect === 'sqlite' ? seedConfig.path : '', { readonly: true, fileMustExist: true });
    const statement = database.prepare<[], TwinRow>(TWIN_PAGE_SQL);
    read = async () => statement.all();
    close = async () => {
      database.close();
    };
  } else {
    // As many connections as Koios's pool; a named statement is parsed and planned once per connection.
    const pool = new pg.Pool({ connectionString: seedConfig.url, max: 10, options: `-c search_path=${schema}` });
    read = async () => (await pool.query<TwinRow>({ name: 'first-page', text: TWIN_PAGE_SQL })).rows;
    close = () => pool.end();
  }
  const app = Fastify({ logger: false });
  app.get('/clients', async () => twinPage(await read()));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  onShutdown(async () => {
    await app.close();
    await close();
  });
  announceReady({ url: address, dialect });
}

main().catch(fail);
