import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor } from '../../actor.js';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/schema.js';
import { TooManyRequests, Unauthenticated } from '../../errors.js';
import { recordAudit } from '../audit/audit.service.js';
import type { Throttle } from '../../throttling/throttle.service.js';
import type { CredentialsCheck, User, UsersService } from '../users/users.service.js';
import { recordRepeated } from '../audit/audit.aggregates.js';
import { EMAIL_MAX_LENGTH } from '../../../shared/limits.js';
import { createSessionsRepository } from './sessions.repository.js';

/** Failed sign-ins are audited as one entry per account and this window, with a count. */
export const FAILED_SIGN_IN_AUDIT_WINDOW_SECONDS = 3600;

/** Who failed to sign in with an email that has no account. */
const ANONYMOUS: Actor = Object.freeze({ type: 'system', id: null, name: 'anonymous', permissions: new Set<never>() });

/** Absolute lifetime of a console session; signing in again starts a new one. */
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * The CSRF token is derived from the session token, so it needs no storage and a reload can ask
 * for it again; knowing it is useless without the HttpOnly cookie it is derived from.
 */
export const csrfTokenFor = (sessionToken: string) => sha256(`koios-csrf:${sessionToken}`);

export interface SignedIn {
  /** The cookie value: shown to the browser only, stored as a hash. */
  readonly token: string;
  /** Sent back by the console in X-CSRF-Token on every change. */
  readonly csrfToken: string;
  readonly user: User;
  readonly expiresAt: string;
}

export interface SessionView {
  readonly actor: Actor;
  readonly user: { readonly id: string; readonly email: string; readonly name: string };
  readonly csrfToken: string;
  readonly expiresAt: string;
}

/**
 * Server-side console sessions (ASVS 3.3, 7.4): revocable, ended by signing out, and by the users
 * service when it disables or deletes the user or changes their password; each request sees the
 * user's permissions as they are now.
 */
export function createSessions(deps: { db: Kysely<Database>; clock: Clock; users: UsersService; throttle: Throttle }) {
  const { db, clock, users, throttle } = deps;

  /** One entry per account (or one for all unknown emails) and hour, counting the attempts. */
  function recordFailedSignIn(emailKey: string, checked: Extract<CredentialsCheck, { reason: string }>, address: string): Promise<void> {
    const { account } = checked;
    return recordRepeated(db, clock, {
      key: account === null ? 'user.sign_in_failed:unknown' : `user.sign_in_failed:${account.id}`,
      windowSeconds: FAILED_SIGN_IN_AUDIT_WINDOW_SECONDS,
      actor: account === null ? ANONYMOUS : { type: 'user', id: account.id, name: account.email, permissions: new Set() },
      action: 'user.sign_in_failed',
      target: account === null ? null : { type: 'user', id: account.id, name: account.email },
      // An email that matched no account may be a mistyped password: only counted, never kept.
      sampled: account === null ? { address } : { email: emailKey, address },
      counted: { reason: checked.reason },
    });
  }

  return {
    /**
     * Email and password to a new session; throttled per account, per address and per pair, a
     * guess counted before its password is checked (see throttle.service.ts).
     */
    async signIn(email: unknown, password: unknown, meta: { address: string; userAgent: string | null }): Promise<SignedIn> {
      const emailKey = typeof email === 'string' ? email.trim().toLowerCase().slice(0, EMAIL_MAX_LENGTH) : '';
      const reservation = await throttle.reserve({ subject: `user:${emailKey}`, address: meta.address });
      if (!reservation.granted) {
        const wait = reservation.retryAfterSeconds;
        throw new TooManyRequests(wait, `too many failed sign-ins; retry after ${wait} seconds`);
      }
      let checked: CredentialsCheck;
      try {
        checked = await users.checkCredentials(typeof email === 'string' ? email : '', typeof password === 'string' ? password : '');
      } catch (error) {
        await reservation.succeeded().catch(() => undefined);
        throw error;
      }
      if (!('user' in checked)) {
        await reservation.failed();
        await recordFailedSignIn(emailKey, checked, meta.address);
        // One answer for an unknown email, a wrong password and a disabled account.
        throw new Unauthenticated('the email or password is not right');
      }
      await reservation.succeeded();
      const { user } = checked;
      const token = randomBytes(32).toString('base64url');
      const csrfToken = csrfTokenFor(token);
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + SESSION_TTL_SECONDS * 1000).toISOString();
      await db.transaction().execute(async (trx) => {
        await createSessionsRepository(trx).insert({
          id_hash: sha256(token),
          user_id: user.id,
          created_at: now.toISOString(),
          expires_at: expiresAt,
          address: meta.address,
          user_agent: meta.userAgent?.slice(0, 300) ?? null,
        });
        await recordAudit(trx, clock, { type: 'user', id: user.id, name: user.email, permissions: new Set() }, [
          { action: 'user.signed_in', target: { type: 'user', id: user.id, name: user.email }, details: { address: meta.address } },
        ]);
      });
      return { token, csrfToken, user, expiresAt };
    },

    /** The session behind a cookie value, with the user's permissions now; null if unknown, expired or the user is disabled. */
    async find(token: string): Promise<SessionView | null> {
      if (token.length === 0 || token.length > 100) return null;
      const row = await createSessionsRepository(db).findByIdHash(sha256(token));
      if (row === undefined || row.enabled !== 1 || row.expires_at <= clock.now().toISOString()) return null;
      const permissions = await users.permissionsOf(row.id);
      return {
        actor: { type: 'user', id: row.id, name: row.email, permissions },
        user: { id: row.id, email: row.email, name: row.name },
        csrfToken: csrfTokenFor(token),
        expiresAt: row.expires_at,
      };
    },

    csrfMatches(session: SessionView, presented: string | undefined): boolean {
      if (presented === undefined || presented.length !== session.csrfToken.length) return false;
      return timingSafeEqual(Buffer.from(presented), Buffer.from(session.csrfToken));
    },

    async signOut(token: string, actor: Actor | null): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const ended = await createSessionsRepository(trx).deleteByIdHash(sha256(token));
        if (actor !== null && ended) {
          await recordAudit(trx, clock, actor, [{ action: 'user.signed_out', target: { type: 'user', id: actor.id, name: actor.name } }]);
        }
      });
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
