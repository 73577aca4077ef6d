/**
 * Cells for long lists, kept cheap to render (fifty rows at once): plain elements and the browser's
 * own title tooltip instead of a Mantine Tooltip per cell, which mounts floating-ui for each.
 */
import { memo } from 'react';
import { getRenderedAt, useHydrating } from '../lib/hydration';
import { formatExact, formatRelative } from '../lib/time';
import { useCopy } from './use-copy';

/** "3 minutes ago", the exact time on hover; "Never" for a null time. */
export const PlainTime = memo(function PlainTime({ value, fallback = 'Never' }: { value: string | null; fallback?: string }) {
  const hydrating = useHydrating();
  if (value === null) return <span className="koios-secondary">{fallback}</span>;
  // The exact time is in the browser's time zone and locale, which the server does not know: added once taken over.
  return (
    <time dateTime={value} title={hydrating ? undefined : formatExact(value)}>
      {formatRelative(value, hydrating ? getRenderedAt() : Date.now())}
    </time>
  );
});

/** A UUID shortened in the middle (`8537dcd6…3e172`); a screen reader and a copy get the whole. */
export function ShortId({ value }: { value: string }) {
  const short = value.length > 16 ? `${value.slice(0, 8)}…${value.slice(-5)}` : value;
  return (
    <span className="koios-short-id" title={value}>
      <span aria-hidden>{short}</span>
      <span className="koios-visually-hidden">{value}</span>
    </span>
  );
}

/** An icon button copying `value`; `label` is its accessible name. It says "Copied" to a screen reader. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const copy = useCopy(value, label);
  return (
    <button type="button" className="koios-icon-button" data-copied={copy.copied || undefined} aria-label={label} title={copy.hint} onClick={copy.onClick}>
      {copy.icon}
      <span className="koios-visually-hidden" role="status">
        {copy.status}
      </span>
    </button>
  );
}
