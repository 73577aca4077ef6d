import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { LogCapture } from '../../../test/support/server.js';
import { openDatabase, migrateToLatest } from './database.js';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('SQLite files on disk', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('are created readable by their owner only: the folder 0700, the database and its -wal and -shm 0600', async () => {
    root = mkdtempSync(join(tmpdir(), 'koios-modes-'));
    const path = join(root, 'data', 'koios.db');
    // Under the usual umask (022) a default-created file would be 0644.
    const umask = process.umask(0o022);
    try {
      const handle = openDatabase({ dialect: 'sqlite', path, url: `file:${path}` });
      await migrateToLatest(handle);
      await sql`insert into settings (key, value) values ('probe', 'x')`.execute(handle.db);
      expect(modeOf(join(root, 'data'))).toBe('700');
      expect(modeOf(path)).toBe('600');
      expect(modeOf(`${path}-wal`)).toBe('600');
      expect(modeOf(`${path}-shm`)).toBe('600');
      await handle.close();
    } finally {
      process.umask(umask);
    }
  });

  it('that exist with a looser mode are reported at start and left as they are', async () => {
    root = mkdtempSync(join(tmpdir(), 'koios-modes-'));
    const path = join(root, 'koios.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const logs = new LogCapture();
    const handle = openDatabase({ dialect: 'sqlite', path, url: `file:${path}` }, { logger: createLogger('info', logs) });
    await handle.ping();
    await handle.close();
    expect(logs.text()).toContain('can be read by other users of this host');
    expect(logs.text()).toContain('"mode":"0644"');
    expect(modeOf(path)).toBe('644');
  });
});
