import type { TestServer } from './server.js';

/**
 * Every row the APIs could write, as it is now, for "a refused request changes nothing". Left out,
 * each for its reason: a client's `last_used_at` (a bearer call records it, flushed in the
 * background) and `auth_throttle` (a failed sign-in is counted on purpose: that write is the
 * defence) and `user.sign_in_failed` audit entries (failed sign-ins are audited on purpose,
 * aggregated per account and window).
 */
export async function everyRow(server: TestServer) {
  const { db } = server.services;
  const [settings, roles, clients, users, userRoles, auditEvents, changeEvents, signingKeys, revokedTokens, authFailures, sessions] = await Promise.all([
    db.selectFrom('settings').selectAll().orderBy('key').execute(),
    db.selectFrom('roles').selectAll().orderBy('id').execute(),
    db.selectFrom('api_clients').selectAll().orderBy('id').execute(),
    db.selectFrom('users').selectAll().orderBy('id').execute(),
    db.selectFrom('user_roles').selectAll().orderBy('user_id').orderBy('role_id').execute(),
    db.selectFrom('audit_events').selectAll().orderBy('id').execute(),
    db.selectFrom('change_events').selectAll().orderBy('id').execute(),
    db.selectFrom('signing_keys').selectAll().orderBy('kid').execute(),
    db.selectFrom('revoked_tokens').selectAll().orderBy('jti').execute(),
    db.selectFrom('client_auth_failures').selectAll().orderBy('client_id').orderBy('reason').execute(),
    db.selectFrom('sessions').selectAll().orderBy('id_hash').execute(),
  ]);
  return {
    settings,
    roles,
    clients: clients.map(({ last_used_at: _lastUsedAt, ...row }) => row),
    users,
    userRoles,
    auditEvents: auditEvents.filter((event) => event.action !== 'user.sign_in_failed'),
    changeEvents,
    signingKeys,
    revokedTokens,
    authFailures,
    sessions,
  };
}
