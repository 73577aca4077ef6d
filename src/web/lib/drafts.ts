/**
 * Unsaved forms that outlive a session: when the session ends under a person, what they were
 * typing is kept in sessionStorage (this tab only) and offered again after they sign in. A draft
 * is used only while the record still is what the form started from, so nothing newer is overwritten.
 */
import { useEffect, useRef } from 'react';

const PREFIX = 'koios-draft:';
let keeping = false;

/** Set when the session ends (drafts survive the page's unmounting), cleared once they are used. */
export function keepDrafts(on: boolean): void {
  keeping = on;
}

interface Stored<T> {
  readonly base: T;
  readonly form: T;
}

/** The draft of `key` started from `base`, if there is one. */
export function readDraft<T>(key: string, base: T): T | undefined {
  try {
    const raw = sessionStorage.getItem(PREFIX + key);
    if (raw === null) return undefined;
    const stored = JSON.parse(raw) as Stored<T>;
    return JSON.stringify(stored.base) === JSON.stringify(base) ? stored.form : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the form as a draft while it differs from `base`; forgets it once it is saved, discarded or left. */
export function useDraft<T>(key: string, base: T, form: T, dirty: boolean): void {
  const latest = useRef({ key, base, form, dirty });
  useEffect(() => {
    latest.current = { key, base, form, dirty };
    try {
      if (dirty) sessionStorage.setItem(PREFIX + key, JSON.stringify({ base, form }));
      else sessionStorage.removeItem(PREFIX + key);
    } catch {
      // Storage full or refused: the form still works, it is only not kept.
    }
  });
  useEffect(
    () => () => {
      // Left on purpose (another page): the draft goes. Left because the session ended: it stays.
      if (!keeping) sessionStorage.removeItem(PREFIX + latest.current.key);
    },
    [],
  );
}
