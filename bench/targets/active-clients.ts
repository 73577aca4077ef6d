import { createHmac } from 'node:crypto';
import { CLIENT_SECRET_PREFIX } from '../../src/server/modules/clients/clients.secret.js';

/**
 * The clients of `npm run bench -- active`, the same in the bench and in the process that seeds
 * them: client n's id and secret follow from n and a seed the bench draws for the run, so 100,000
 * secrets need not be passed between processes.
 */

/** Client n's id: a UUID made of n. */
export function activeClientId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
}

/** Client n's secret: 256 bits derived from the run's seed, in the shape the server generates. */
export function activeClientSecret(seed: string, n: number): string {
  return CLIENT_SECRET_PREFIX + createHmac('sha256', seed).update(String(n)).digest('base64url');
}

/** Even clients hold the role the bench changes; odd ones hold Viewer, which it leaves alone. */
export const holdsChangedRole = (n: number): boolean => n % 2 === 0;

/** The changed role as seeded, and as the bench leaves it: losing roles:read is a demotion, which bites the tokens already issued. */
export const ROLE_BEFORE = ['clients:read', 'roles:read'] as const;
export const ROLE_AFTER = ['clients:read'] as const;
