import { type Kysely, PostgresAdapter, sql } from 'kysely';

/*
 * How many API clients there are, and how many are enabled, kept by triggers in the same
 * transaction as every insert, delete and enable/disable, whoever writes (the server, the CLI, a
 * bulk action). The list's `total` for an unfiltered or status-filtered page is read from here:
 * an exact count(*) over 100,000 clients took 3 ms on SQLite and 16 ms on PostgreSQL, four times
 * the page itself (the benchmark issue's profile). A search still counts its matches.
 *
 * PostgreSQL counts per statement from transition tables, so a bulk change of 1,000 clients is one
 * update of the counter row, and a statement that changes no `enabled` value (a rename, a
 * last-used time) leaves the row alone. SQLite counts per row. Conventions as in the first
 * migration: booleans are 0/1 integers.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('client_counts')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addColumn('enabled', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into client_counts (id, total, enabled) select 1, count(*), coalesce(sum(enabled), 0) from api_clients`.execute(db);

  if (postgres) {
    await sql`
      create function api_clients_count() returns trigger language plpgsql set search_path from current as $$
      declare
        added bigint := 0;
        enabled_added bigint := 0;
      begin
        if tg_op in ('INSERT', 'UPDATE') then
          select count(*), coalesce(sum(enabled), 0) into added, enabled_added from new_rows;
        end if;
        if tg_op in ('DELETE', 'UPDATE') then
          select added - count(*), enabled_added - coalesce(sum(enabled), 0) into added, enabled_added from old_rows;
        end if;
        if added <> 0 or enabled_added <> 0 then
          update client_counts set total = total + added, enabled = enabled + enabled_added where id = 1;
        end if;
        return null;
      end $$`.execute(db);
    await sql`create trigger api_clients_count_insert after insert on api_clients referencing new table as new_rows for each statement execute function api_clients_count()`.execute(
      db,
    );
    await sql`create trigger api_clients_count_delete after delete on api_clients referencing old table as old_rows for each statement execute function api_clients_count()`.execute(
      db,
    );
    await sql`create trigger api_clients_count_update after update on api_clients referencing old table as old_rows new table as new_rows for each statement execute function api_clients_count()`.execute(
      db,
    );
    await sql`
      create function api_clients_count_truncate() returns trigger language plpgsql set search_path from current as $$
      begin
        update client_counts set total = 0, enabled = 0 where id = 1;
        return null;
      end $$`.execute(db);
    await sql`create trigger api_clients_count_truncate after truncate on api_clients for each statement execute function api_clients_count_truncate()`.execute(
      db,
    );
  } else {
    await sql`
      create trigger api_clients_count_insert after insert on api_clients begin
        update client_counts set total = total + 1, enabled = enabled + new.enabled where id = 1;
      end`.execute(db);
    await sql`
      create trigger api_clients_count_delete after delete on api_clients begin
        update client_counts set total = total - 1, enabled = enabled - old.enabled where id = 1;
      end`.execute(db);
    await sql`
      create trigger api_clients_count_update after update of enabled on api_clients when old.enabled <> new.enabled begin
        update client_counts set enabled = enabled + new.enabled - old.enabled where id = 1;
      end`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  for (const trigger of ['api_clients_count_insert', 'api_clients_count_delete', 'api_clients_count_update']) {
    await sql`drop trigger ${sql.id(trigger)}${postgres ? sql` on api_clients` : sql``}`.execute(db);
  }
  if (postgres) {
    await sql`drop trigger api_clients_count_truncate on api_clients`.execute(db);
    await sql`drop function api_clients_count_truncate()`.execute(db);
    await sql`drop function api_clients_count()`.execute(db);
  }
  await db.schema.dropTable('client_counts').execute();
}
