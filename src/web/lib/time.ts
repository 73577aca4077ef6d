/** Relative times for tables ("3 minutes ago") and the exact time for their tooltips. */

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

export function formatRelative(iso: string, now: number = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size * 0.9 || unit === 'minute') return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(seconds, 'second');
}

const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });

export function formatExact(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : exact.format(date);
}

/** How long a client counts as in use after it last authenticated: deleting it then asks for its name. */
export const RECENT_USE_DAYS = 30;

/** Whether `lastUsedAt` falls within the last RECENT_USE_DAYS days. */
export function usedRecently(lastUsedAt: string | null, now = Date.now()): boolean {
  return lastUsedAt !== null && now - Date.parse(lastUsedAt) < RECENT_USE_DAYS * 86_400_000;
}
