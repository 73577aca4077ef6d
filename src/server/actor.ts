import { PERMISSION_KEYS, sortPermissionKeys, type PermissionKey } from '../shared/permissions.js';
import { Forbidden } from './errors.js';

/** Who is acting: recorded in the audit log and checked by every service call. */
export type Actor =
  | { readonly type: 'system'; readonly id: null; readonly name: string; readonly permissions: ReadonlySet<PermissionKey> }
  | { readonly type: 'user' | 'client'; readonly id: string; readonly name: string; readonly permissions: ReadonlySet<PermissionKey> };

/** The operator at the CLI and start-up tasks: shell access to the database is every permission. */
export const SYSTEM_ACTOR: Actor = Object.freeze({
  type: 'system',
  id: null,
  name: 'system',
  permissions: new Set<PermissionKey>(PERMISSION_KEYS),
});

export function requirePermission(actor: Actor, ...keys: PermissionKey[]): void {
  const missing = keys.filter((key) => !actor.permissions.has(key));
  if (missing.length > 0) throw new Forbidden(`missing permission ${missing.join(', ')}`, missing);
}

/**
 * The no-escalation rule: nobody grants, edits, or takes over more than they hold.
 * Used for assigning a role, editing a role, and acting on an actor that holds `permissions`.
 */
export function requireHoldsAll(actor: Actor, permissions: Iterable<PermissionKey>, what: string): void {
  const missing = sortPermissionKeys([...permissions].filter((key) => !actor.permissions.has(key)));
  if (missing.length > 0) throw new Forbidden(`${what} grants ${missing.join(', ')}, which you do not hold`, missing);
}
