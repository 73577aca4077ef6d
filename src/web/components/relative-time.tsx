import { Text, Tooltip } from '@mantine/core';
import { useSyncExternalStore } from 'react';
import { getRenderedAt, useHydrating } from '../lib/hydration';
import { formatExact, formatRelative } from '../lib/time';

/** One clock for every relative time on the page, ticking twice a minute. */
let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  timer ??= setInterval(() => {
    now = Date.now();
    listeners.forEach((notify) => notify());
  }, 30_000);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}

/** Now, for relative times: the page's clock (never more than a second behind), the server's while hydrating its page. */
export function useNow(): number {
  const current = useSyncExternalStore(
    subscribe,
    () => now,
    () => now,
  );
  return useHydrating() ? getRenderedAt() : Math.max(current, Date.now() - 1000);
}

/** "3 minutes ago", with the exact time on hover; `fallback` (e.g. "Never") for a null time. */
export function RelativeTime({ value, fallback = 'Never' }: { value: string | null; fallback?: string }) {
  const current = useNow();
  if (value === null) {
    return (
      <Text span c="dimmed" inherit>
        {fallback}
      </Text>
    );
  }
  return (
    <Tooltip label={formatExact(value)} withArrow openDelay={150} role="tooltip">
      <time dateTime={value}>{formatRelative(value, current)}</time>
    </Tooltip>
  );
}
