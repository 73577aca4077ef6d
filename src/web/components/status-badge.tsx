import { Badge } from '@mantine/core';

/** Enabled (teal) or Disabled (gray), as in the product description. */
export function StatusBadge({ enabled }: { enabled: boolean }) {
  return (
    <Badge color={enabled ? 'teal' : 'gray'} variant="light" radius="sm">
      {enabled ? 'Enabled' : 'Disabled'}
    </Badge>
  );
}
