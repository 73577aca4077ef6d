import { Text, Tooltip } from '@mantine/core';
import { useSyncExternalStore } from 'react';
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

function useNow(): number {
  return useSyncExternalStore(
    subscribe,
    () => now,
    () => now,
  );
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
      <time dateTime={value}>{formatRelative(value, Math.max(current, Date.now() - 1000))}</time>
    </Tooltip>
  );
}
