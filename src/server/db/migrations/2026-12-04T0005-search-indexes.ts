import { PostgresAdapter, sql, type Kysely } from 'kysely';

/*
 * Substring search that does not read every row. `LIKE '%text%'` cannot use a b-tree, so the
 * client list's search and the audit log's text search scanned the whole table: at a million
 * clients or ten million events that was seconds (`npm run bench -- scale`).
 *
 * PostgreSQL: pg_trgm GIN indexes, which answer LIKE with a leading wildcard. The client list's
 * three searched expressions get one index each (the planner ORs them); the audit log's five
 * columns get one index over their lower-cased concatenation, which the query adds as a
 * necessary condition beside its per-column test (text inside one column is inside the whole).
 * pg_trgm is a trusted extension; it is created once per database, outside the per-schema tables,
 * and its operator class is named with the schema it lives in, whatever the search_path.
 *
 * SQLite: FTS5 tables with the trigram tokenizer over the same columns, kept by triggers; a search
 * of three characters or more finds its candidate rows there and the query checks each with the
 * same LIKE as before. They index the tables' rowids: api_clients' are implicit, and VACUUM keeps
 * them (it copies rows with their rowids); audit_events' is its integer id.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // Two migrations creating the extension at once would collide on its catalog row.
    await sql`select pg_advisory_xact_lock(hashtext('koios: create extension pg_trgm'))`.execute(db);
    const installed = await sql<{ schema: string }>`
      select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`.execute(db);
    if (installed.rows.length === 0) await sql`create extension if not exists pg_trgm schema public`.execute(db);
    const schema = installed.rows[0]?.schema ?? 'public';
    const ops = sql`${sql.id(schema)}.gin_trgm_ops`;
    await sql`create index api_clients_name_search_idx on api_clients using gin (name_key ${ops})`.execute(db);
    await sql`create index api_clients_description_search_idx on api_clients using gin ((coalesce(description_key, '')) ${ops})`.execute(db);
    await sql`create index api_clients_id_search_idx on api_clients using gin (id ${ops})`.execute(db);
    await sql`create index audit_events_search_idx on audit_events using gin ((${auditSearchText}) ${ops})`.execute(db);
    return;
  }
  await sql`create virtual table api_clients_search using fts5(name_key, description_key, id, content='api_clients', tokenize='trigram')`.execute(db);
  await sql`create trigger api_clients_search_insert after insert on api_clients begin
    insert into api_clients_search(rowid, name_key, description_key, id) values (new.rowid, new.name_key, new.description_key, new.id);
  end`.execute(db);
  await sql`create trigger api_clients_search_delete after delete on api_clients begin
    insert into api_clients_search(api_clients_search, rowid, name_key, description_key, id) values ('delete', old.rowid, old.name_key, old.description_key, old.id);
  end`.execute(db);
  await sql`create trigger api_clients_search_update after update of name_key, description_key, id on api_clients begin
    insert into api_clients_search(api_clients_search, rowid, name_key, description_key, id) values ('delete', old.rowid, old.name_key, old.description_key, old.id);
    insert into api_clients_search(rowid, name_key, description_key, id) values (new.rowid, new.name_key, new.description_key, new.id);
  end`.execute(db);
  await sql`insert into api_clients_search(api_clients_search) values ('rebuild')`.execute(db);

  const columns = sql.raw('actor_name, target_name, action, actor_id, target_id');
  const values = (row: 'new' | 'old') => sql.raw(['actor_name', 'target_name', 'action', 'actor_id', 'target_id'].map((c) => `${row}.${c}`).join(', '));
  await sql`create virtual table audit_events_search using fts5(${columns}, content='audit_events', content_rowid='id', tokenize='trigram')`.execute(db);
  await sql`create trigger audit_events_search_insert after insert on audit_events begin
    insert into audit_events_search(rowid, ${columns}) values (new.id, ${values('new')});
  end`.execute(db);
  await sql`create trigger audit_events_search_delete after delete on audit_events begin
    insert into audit_events_search(audit_events_search, rowid, ${columns}) values ('delete', old.id, ${values('old')});
  end`.execute(db);
  await sql`create trigger audit_events_search_update after update of ${columns} on audit_events begin
    insert into audit_events_search(audit_events_search, rowid, ${columns}) values ('delete', old.id, ${values('old')});
    insert into audit_events_search(rowid, ${columns}) values (new.id, ${values('new')});
  end`.execute(db);
  await sql`insert into audit_events_search(audit_events_search) values ('rebuild')`.execute(db);
}

/** The audit log's searched text in one value (the repository's query repeats it exactly). */
const auditSearchText = sql.raw(
  `(lower(coalesce(actor_name, '')) || ' ' || lower(coalesce(target_name, '')) || ' ' || lower(action) || ' ' || ` +
    `lower(coalesce(actor_id, '')) || ' ' || lower(coalesce(target_id, ''))) collate "C"`,
);

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    for (const index of ['audit_events_search_idx', 'api_clients_id_search_idx', 'api_clients_description_search_idx', 'api_clients_name_search_idx']) {
      await db.schema.dropIndex(index).execute();
    }
    return;
  }
  for (const trigger of ['insert', 'delete', 'update']) {
    await sql`drop trigger ${sql.id(`api_clients_search_${trigger}`)}`.execute(db);
    await sql`drop trigger ${sql.id(`audit_events_search_${trigger}`)}`.execute(db);
  }
  await sql`drop table api_clients_search`.execute(db);
  await sql`drop table audit_events_search`.execute(db);
}
