import type { DatabaseConfig } from '../../src/server/config.js';
import type { Dialect } from '../../src/server/db/database.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/**
 * The database the parent made for a Koios target and will drop: BENCH_KOIOS_DIALECT=sqlite with
 * BENCH_KOIOS_SQLITE_PATH, or =postgres with BENCH_KOIOS_PG_URL and BENCH_KOIOS_PG_SCHEMA.
 * `databaseUrl` is what the server is configured with; `seedConfig` and `schema` open it directly.
 */
export function benchDatabase(): { dialect: Dialect; databaseUrl: string; seedConfig: DatabaseConfig; schema: string | undefined } {
  const dialect = required('BENCH_KOIOS_DIALECT');
  if (dialect === 'sqlite') {
    const path = required('BENCH_KOIOS_SQLITE_PATH');
    return { dialect, databaseUrl: `file:${path}`, seedConfig: { dialect, path, url: `file:${path}` }, schema: undefined };
  }
  if (dialect === 'postgres') {
    const base = required('BENCH_KOIOS_PG_URL');
    const schema = required('BENCH_KOIOS_PG_SCHEMA');
    const url = new URL(base);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return { dialect, databaseUrl: url.href, seedConfig: { dialect, url: base }, schema };
  }
  throw new Error(`BENCH_KOIOS_DIALECT must be sqlite or postgres, got ${dialect}`);
}
