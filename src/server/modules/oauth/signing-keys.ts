import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor } from '../../actor.js';
import type { Change, ChangeFeed } from '../../changes.js';
import type { Clock } from '../../clock.js';
import type { Database, SigningKeyRow } from '../../db/schema.js';
import { recordAudit } from '../audit/audit.service.js';
import type { MasterKey } from '../master-key/master-key.js';
import { assertMasterKeyCurrent, signingKeyPurpose } from '../master-key/sealed-keys.js';
import { TOKEN_ALGORITHM } from './jwt.js';
import { createSigningKeysRepository } from './signing-keys.repository.js';

export interface PublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid: string;
  readonly alg: typeof TOKEN_ALGORITHM;
  readonly use: 'sig';
}

interface LoadedKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: PublicJwk;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

/** Grace after a key's retirement beyond the token lifetime, for clock skew between instances. */
const RETIREMENT_GRACE_SECONDS = 300;

function newKeyRow(at: string, masterKey: MasterKey): SigningKeyRow {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const x = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  // RFC 7638 thumbprint: the kid names the key itself, so every instance agrees on it.
  const kid = createHash('sha256')
    .update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x }))
    .digest('base64url');
  const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x, kid, alg: TOKEN_ALGORITHM, use: 'sig' };
  return {
    kid,
    alg: TOKEN_ALGORITHM,
    public_jwk: JSON.stringify(jwk),
    // Only the sealed form is written: a copy of the database alone cannot sign.
    private_key: masterKey.seal(privateKey.export({ format: 'der', type: 'pkcs8' }), signingKeyPurpose(kid)),
    created_at: at,
    retired_at: null,
  };
}

/**
 * Token signing keys, kept in the database so every instance signs and verifies with the same
 * keys. Generated on first start; `rotate` makes a new key sign at once while the old ones keep
 * verifying until the longest token lifetime (plus a grace) has passed.
 */
export function createSigningKeys(deps: { db: Kysely<Database>; changes: ChangeFeed; clock: Clock; accessTokenTtlSeconds: number; masterKey: MasterKey }) {
  const { db, changes, clock, masterKey } = deps;
  let keys: LoadedKey[] = [];
  let byKid = new Map<string, LoadedKey>();
  let lastUnknownKidReload = 0;
  /** A reload under way after a rotation elsewhere; signing waits for it so the new key signs at once. */
  let reloading: Promise<void> | undefined;

  async function load(): Promise<void> {
    const cutoff = new Date(clock.now().getTime() - (deps.accessTokenTtlSeconds + RETIREMENT_GRACE_SECONDS) * 1000).toISOString();
    const rows = await createSigningKeysRepository(db).listUsable(cutoff);
    keys = rows.map((row) => ({
      kid: row.kid,
      privateKey: createPrivateKey({ key: masterKey.open(row.private_key, signingKeyPurpose(row.kid)), format: 'der', type: 'pkcs8' }),
      publicKey: createPublicKey({ key: JSON.parse(row.public_jwk) as PublicJwk & Record<string, string>, format: 'jwk' }),
      jwk: JSON.parse(row.public_jwk) as PublicJwk,
      createdAt: row.created_at,
      retiredAt: row.retired_at,
    }));
    byKid = new Map(keys.map((key) => [key.kid, key]));
  }

  const onChange = (list: readonly Change[]) => {
    if (list.some((change) => change.kind === 'keys' || change.kind === 'all')) {
      const pending = load().catch(() => undefined);
      reloading = pending;
      void pending.then(() => {
        if (reloading === pending) reloading = undefined;
      });
    }
  };

  return {
    /** Loads the keys, creating the first one if there is none; subscribes to rotations elsewhere. */
    async start(): Promise<void> {
      await load();
      if (!keys.some((key) => key.retiredAt === null)) {
        // Instances starting together on an empty database would each make a key (each kid is
        // the key's own thumbprint, so no constraint refuses the second): one makes it under a
        // lock, the others find it once they get the lock.
        await db.transaction().execute(async (trx) => {
          const repository = createSigningKeysRepository(trx);
          await repository.lockFirstKey();
          if (await repository.hasActive()) return;
          await repository.insert(newKeyRow(clock.now().toISOString(), masterKey));
        });
        await load();
      }
      changes.subscribe(onChange);
    },

    /** Resolves once a reload caused by a rotation elsewhere is done (undefined when none is under way). */
    settled: (): Promise<void> | undefined => reloading,

    /** The newest active key: what signs now. */
    current(): LoadedKey {
      const key = keys.find((candidate) => candidate.retiredAt === null) ?? keys[0];
      if (key === undefined) throw new Error('no signing key is loaded');
      return key;
    },

    /**
     * The key for a token's kid. An unknown kid may be a key another instance just made: reload,
     * at most once a second so that junk kids cannot make every request query the database.
     */
    async forKid(kid: string): Promise<LoadedKey | undefined> {
      const key = byKid.get(kid);
      if (key !== undefined) return key;
      const now = Date.now();
      if (now - lastUnknownKidReload < 1000) return undefined;
      lastUnknownKidReload = now;
      await load();
      return byKid.get(kid);
    },

    forKidCached: (kid: string): LoadedKey | undefined => byKid.get(kid),

    /** The JWKS: every key that may still verify a token. */
    jwks(): { keys: PublicJwk[] } {
      return { keys: keys.map((key) => key.jwk) };
    },

    /**
     * A new key signs from now on, here at once and on other instances when they hear of it;
     * audited with who rotated, in the rotation's own transaction.
     */
    async rotate(actor: Actor): Promise<string> {
      const at = clock.now().toISOString();
      const row = newKeyRow(at, masterKey);
      await changes.transaction(async (trx, recordChange) => {
        await assertMasterKeyCurrent(trx, masterKey);
        const repository = createSigningKeysRepository(trx);
        const retired = await repository.retireActive(at);
        await repository.insert(row);
        await recordAudit(trx, clock, actor, [
          {
            action: 'keys.rotated',
            target: { type: 'system', id: null, name: 'token signing keys' },
            details: { kid: row.kid, retired },
          },
        ]);
        recordChange({ kind: 'keys', id: row.kid });
      });
      await load();
      return row.kid;
    },
  };
}

export type SigningKeys = ReturnType<typeof createSigningKeys>;
