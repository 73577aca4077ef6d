import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { RevokedTokensTable } from '../../db/schema.js';

/** What the token endpoint and bearer checks read and write: client state, revoked tokens, refusal counts. */
export function createTokensRepository(db: Executor) {
  return {
    /**
     * One statement, whether or not the client exists: the client, its role and its tokens revoked
     * and unexpired at `now`, a row per token (one with a null jti if none). No rows for an unknown id.
     */
    async findClientState(clientId: string, now: string) {
      return db
        .selectFrom('api_clients')
        .leftJoin('roles', 'roles.id', 'api_clients.role_id')
        .leftJoin('revoked_tokens', (join) => join.onRef('revoked_tokens.client_id', '=', 'api_clients.id').on('revoked_tokens.expires_at', '>', now))
        .select([
          'api_clients.id',
          'api_clients.name',
          'api_clients.enabled',
          'api_clients.secret_hash',
          'api_clients.secret_generation',
          'api_clients.secret_expires_at',
          'api_clients.previous_secret_hash',
          'api_clients.previous_secret_expires_at',
          'api_clients.allowed_cidrs',
          'api_clients.rate_limit_requests_per_minute',
          'api_clients.rate_limit_tokens_per_minute',
          'api_clients.auth_method',
          'api_clients.require_dpop',
          'api_clients.role_id',
          'roles.built_in',
          'roles.permissions',
          'revoked_tokens.jti',
        ])
        .where('api_clients.id', '=', clientId)
        .execute();
    },

    /** The client's federated credentials, the rules of its token exchanges; none for an unknown id. */
    async findFederatedRules(clientId: string) {
      return db
        .selectFrom('federated_credentials')
        .select(['id', 'issuer', 'audience', 'subject', 'conditions'])
        .where('client_id', '=', clientId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
    },

    /** Records a revoked token; false when it was revoked already. */
    async insertRevoked(row: RevokedTokensTable): Promise<boolean> {
      const inserted = await db
        .insertInto('revoked_tokens')
        .values(row)
        .onConflict((oc) => oc.column('jti').doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    /** Revoked tokens that have expired since need no row: an expired token is refused anyway. */
    async deleteExpiredRevoked(now: string): Promise<void> {
      await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).execute();
    },

    /**
     * Accepts a client assertion's jti once (RFC 7523 §3): false when a live assertion of the same
     * client used it already. The unique key decides, so two instances racing cannot both accept;
     * a row whose assertion has expired is taken over.
     */
    async acceptAssertionJti(row: { client_id: string; jti: string; expires_at: string }, now: string): Promise<boolean> {
      const result = await db
        .insertInto('client_assertion_jtis')
        .values(row)
        .onConflict((oc) => oc.columns(['client_id', 'jti']).doUpdateSet({ expires_at: row.expires_at }).where('client_assertion_jtis.expires_at', '<=', now))
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },

    /** Assertion ids are needed only until their assertion has expired. */
    async deleteExpiredAssertionJtis(now: string): Promise<void> {
      await db.deleteFrom('client_assertion_jtis').where('expires_at', '<=', now).execute();
    },

    /** Adds `count` refusals of one client for one reason. */
    async addFailures(entry: { clientId: string; reason: string; count: number; lastAt: string }): Promise<void> {
      await db
        .insertInto('client_auth_failures')
        .values({ client_id: entry.clientId, reason: entry.reason, count: entry.count, last_at: entry.lastAt })
        .onConflict((oc) =>
          oc.columns(['client_id', 'reason']).doUpdateSet({
            count: sql`client_auth_failures.count + ${entry.count}`,
            last_at: entry.lastAt,
          }),
        )
        .execute();
    },

    async failureCountsOf(clientId: string) {
      return db.selectFrom('client_auth_failures').select(['reason', 'count', 'last_at']).where('client_id', '=', clientId).orderBy('reason').execute();
    },
  };
}
