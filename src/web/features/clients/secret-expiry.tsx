import { Text } from '@mantine/core';
import { formatExact, formatRelative } from '../../lib/time';

/** "expires in 5 days" or "Expired", the exact time as its title; nothing for a secret that never expires. */
export function SecretExpiry({ expiresAt, size = 'xs' }: { expiresAt: string | null; size?: 'xs' | 'sm' }) {
  if (expiresAt === null) return null;
  const expired = Date.parse(expiresAt) <= Date.now();
  return (
    <Text span size={size} c={expired ? 'red' : 'dimmed'} fw={expired ? 600 : undefined} title={formatExact(expiresAt)} className="koios-nowrap">
      {expired ? 'Expired' : `expires ${formatRelative(expiresAt)}`}
    </Text>
  );
}
