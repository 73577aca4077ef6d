import type { AuditEntry } from './modules/audit/audit.service.js';

/**
 * What an update changes: the columns to write and one audit entry per changed field, in the
 * order the fields were given. A field not asked for, or asked for as it is stored, changes
 * nothing, so repeating a request writes and records nothing.
 */
export interface ChangeSet<Patch> {
  readonly patch: Partial<Patch>;
  readonly audit: readonly AuditEntry[];
}

export interface FieldUpdate<Patch, Value> {
  /** The value stored now. */
  readonly current: Value;
  /** The value asked for, normalised as it would be stored; undefined when not asked for. */
  readonly requested: Value | undefined;
  /** The columns that store a new value. */
  readonly columns: (value: Value) => Partial<Patch>;
  readonly audit: (change: { readonly from: Value; readonly to: Value }) => AuditEntry;
}

/** One field compared with what is stored: a change set of that field alone. */
export function compareField<Patch, Value>(field: FieldUpdate<Patch, Value>): ChangeSet<Patch> {
  const { current, requested } = field;
  if (requested === undefined || requested === current) return { patch: {}, audit: [] };
  return { patch: field.columns(requested), audit: [field.audit({ from: current, to: requested })] };
}

/** The change sets of several fields as one. */
export function changeSet<Patch>(...fields: readonly ChangeSet<Patch>[]): ChangeSet<Patch> {
  return { patch: Object.assign({}, ...fields.map((field) => field.patch)) as Partial<Patch>, audit: fields.flatMap((field) => field.audit) };
}
