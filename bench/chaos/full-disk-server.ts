import { sql } from 'kysely';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer } from '../../src/server/server.js';

/**
 * The real server with one fault switch, for the full-disk scenario: SIGUSR2 stops its database
 * file from growing (`PRAGMA max_page_count`, what SQLite sees on a full disk), a second SIGUSR2
 * gives the room back. SIGTERM shuts down as `koios serve` does.
 */
const config = loadConfig();
const logger = createLogger(config.logLevel);
const server = await startServer(config, logger);
const { db } = server.database;
let full = false;
process.on('SIGUSR2', () => {
  full = !full;
  void (async () => {
    const pages = Number((await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]!.page_count);
    await sql.raw(`pragma max_page_count = ${full ? pages : 1_073_741_823}`).execute(db);
  })();
});
process.once('SIGTERM', () => {
  void server.shutdown().then(() => process.exit(0));
});
