import { Text } from '@mantine/core';
import { getRenderedAt, useHydrating } from '../../lib/hydration';
import { formatExact, formatRelative } from '../../lib/time';

/** "expires in 5 days" or "Expired", the exact time as its title; nothing for a secret that never expires. */
export function SecretExpiry({ expiresAt, size = 'xs' }: { expiresAt: string | null; size?: 'xs' | 'sm' }) {
  const hydrating = useHydrating();
  if (expiresAt === null) return null;
  // As the server drew it while its page is taken over (its clock; no exact time in a zone it does not know).
  const now = hydrating ? getRenderedAt() : Date.now();
  const expired = Date.parse(expiresAt) <= now;
  return (
    <Text
      span
      size={size}
      c={expired ? 'red' : 'dimmed'}
      fw={expired ? 600 : undefined}
      title={hydrating ? undefined : formatExact(expiresAt)}
      className="koios-nowrap"
    >
      {expired ? 'Expired' : `expires ${formatRelative(expiresAt, now)}`}
    </Text>
  );
}
