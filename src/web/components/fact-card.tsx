import { Card, Text } from '@mantine/core';
import type { ReactNode } from 'react';

/** One fact at the top of an Overview ("Last Activity", "Status"): a region named by its title. */
export function FactCard({ title, children, footer }: { title: string; children: ReactNode; footer?: ReactNode }) {
  return (
    <Card withBorder radius="md" padding="md" component="section" aria-label={title}>
      <Text size="xs" tt="uppercase" fw={700} c="dimmed">
        {title}
      </Text>
      <Text fw={600} size="lg" mt={6} component="div">
        {children}
      </Text>
      {footer !== undefined && (
        <Text size="sm" c="dimmed" mt={4} component="div">
          {footer}
        </Text>
      )}
    </Card>
  );
}
