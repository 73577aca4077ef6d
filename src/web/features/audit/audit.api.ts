import type { AuditPage } from '../../lib/types';
import { api } from '../../lib/api';

export interface AuditQuery {
  readonly q?: string;
  readonly targetId?: string;
  readonly limit: number;
}

export const auditKeys = {
  all: ['audit'] as const,
  list: (query: AuditQuery) => ['audit', 'list', query] as const,
};

export function fetchAuditPage(query: AuditQuery, cursor: string | null, signal?: AbortSignal) {
  return api.get<AuditPage>('/api/v1/audit-events', { limit: query.limit, cursor, q: query.q?.trim(), targetId: query.targetId }, signal);
}

const WORDS: Record<string, string> = {
  created: 'Created',
  deleted: 'Deleted',
  updated: 'Updated',
  renamed: 'Renamed',
  enabled: 'Enabled',
  disabled: 'Disabled',
  secret_regenerated: 'Regenerated the secret',
  previous_secret_ended: 'Ended the previous secret',
  role_changed: 'Changed the role',
  roles_changed: 'Changed the roles',
  description_changed: 'Changed the description',
  email_changed: 'Changed the email',
  password_changed: 'Changed the password',
  signed_in: 'Signed in',
  signed_out: 'Signed out',
  sign_in_failed: 'Failed to sign in',
  auth_failed: 'Failed to authenticate',
  revoked: 'Revoked a token',
};

/** `client.secret_regenerated` → "Regenerated the secret"; unknown actions read as words. */
export function describeAction(action: string): string {
  const verb = action.includes('.') ? action.slice(action.indexOf('.') + 1) : action;
  return WORDS[verb] ?? verb.replace(/[._]/g, ' ').replace(/^./, (first) => first.toUpperCase());
}

/** The details an admin may read, as one short line. */
export function describeDetails(details: Record<string, unknown>): string {
  const { from, to, ...rest } = details;
  const change = 'from' in details && 'to' in details ? [`${show(from)} → ${show(to)}`] : [];
  return Object.entries('from' in details && 'to' in details ? rest : details)
    .map(([key, value]) => {
      if (value !== null && typeof value === 'object' && 'from' in value && 'to' in value) {
        const change = value as { from: unknown; to: unknown };
        return `${key}: ${show(change.from)} → ${show(change.to)}`;
      }
      return `${key}: ${show(value)}`;
    })
    .concat(change)
    .join('; ');
}

function show(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(show).join(', ');
  if (typeof value === 'object') {
    const named = value as { name?: unknown };
    if (typeof named.name === 'string') return named.name;
    // A settings object (a rate limit): its set fields in words, "none" when nothing is set.
    const set = Object.entries(value).filter(([, field]) => field !== null && field !== undefined);
    return set.length === 0 ? 'none' : set.map(([key, field]) => `${key} ${show(field)}`).join(', ');
  }
  return String(value);
}
