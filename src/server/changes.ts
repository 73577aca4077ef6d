/**
 * What changed, for caches that must see a change on the very next request (CONTRACT §4).
 * The services publish after their transaction commits; the authentication cache subscribes.
 * On PostgreSQL the OAuth module relays these between instances with LISTEN/NOTIFY.
 */
export type Change =
  { readonly kind: 'client'; readonly id: string } | { readonly kind: 'role'; readonly id: string } | { readonly kind: 'user'; readonly id: string };

export type ChangeListener = (changes: readonly Change[]) => void | Promise<void>;

export interface ChangeFeed {
  publish(changes: readonly Change[]): Promise<void>;
  subscribe(listener: ChangeListener): () => void;
}

export function createChangeFeed(): ChangeFeed {
  const listeners = new Set<ChangeListener>();
  return {
    async publish(changes) {
      if (changes.length === 0) return;
      for (const listener of listeners) await listener(changes);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
