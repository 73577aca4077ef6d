import { useSyncExternalStore } from 'react';

/**
 * The page the server drew (src/web/server-render.tsx) is taken over by React in the browser
 * (hydration), which must draw exactly what the server did. What depends on the browser (its
 * clock, locale, time zone, width, theme) is drawn as the server did while hydrating, and as the
 * browser has it right after: React calls the third function below on the server and while
 * hydrating, the second one otherwise, and draws again at once when they differ.
 */
const nothingToWatch = () => () => undefined;

/** True on the server and while the browser takes over its page; false on any other render. */
export function useHydrating(): boolean {
  return useSyncExternalStore(
    nothingToWatch,
    () => false,
    () => true,
  );
}

let renderedAt = 0;

/** The time the server drew the page at: its relative times ("3 minutes ago") count from it while hydrating. */
export function setRenderedAt(time: number): void {
  renderedAt = time;
}

export function getRenderedAt(): number {
  return renderedAt;
}
