import type { Migration } from 'kysely';
import * as initial from './2026-11-27T0001-initial.js';
import * as oauth from './2026-11-27T0002-oauth.js';
import * as sessions from './2026-11-27T0003-sessions.js';
import * as clientCounts from './2026-11-27T0004-client-counts.js';
import * as descriptionKey from './2026-11-27T0005-description-key.js';
import * as userNameKey from './2026-11-27T0006-user-name-key.js';
import * as throttleReservations from './2026-12-03T0002-throttle-reservations.js';
import * as sealedKeys from './2026-12-03T0003-sealed-keys.js';
import * as secretLifecycle from './2026-12-03T0004-secret-lifecycle.js';
import * as allowedCidrs from './2026-12-03T0005-allowed-cidrs.js';
import * as usage from './2026-12-04T0001-usage.js';
import * as federatedCredentials from './2026-12-04T0004-federated-credentials.js';
import * as searchIndexes from './2026-12-04T0005-search-indexes.js';
import * as rateLimits from './2026-12-04T0006-rate-limits.js';
import * as clientKeys from './2026-12-04T0007-client-keys.js';
import * as dpop from './2026-12-04T0009-dpop.js';
import * as searchMerge from './2026-12-04T0011-search-merge.js';

/** Every migration, by its dated name. Append only: a shipped migration is frozen. */
export const migrations: Record<string, Migration> = {
  '2026-11-27T0001-initial': initial,
  '2026-11-27T0002-oauth': oauth,
  '2026-11-27T0003-sessions': sessions,
  '2026-11-27T0004-client-counts': clientCounts,
  '2026-11-27T0005-description-key': descriptionKey,
  '2026-11-27T0006-user-name-key': userNameKey,
  '2026-12-03T0002-throttle-reservations': throttleReservations,
  '2026-12-03T0003-sealed-keys': sealedKeys,
  '2026-12-03T0004-secret-lifecycle': secretLifecycle,
  '2026-12-03T0005-allowed-cidrs': allowedCidrs,
  '2026-12-04T0001-usage': usage,
  '2026-12-04T0004-federated-credentials': federatedCredentials,
  '2026-12-04T0005-search-indexes': searchIndexes,
  '2026-12-04T0006-rate-limits': rateLimits,
  '2026-12-04T0007-client-keys': clientKeys,
  '2026-12-04T0009-dpop': dpop,
  '2026-12-04T0011-search-merge': searchMerge,
};
