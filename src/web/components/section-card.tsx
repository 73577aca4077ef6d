import { Card, Group, Text, Title } from '@mantine/core';
import { useId, type ReactNode } from 'react';

/** A titled part of a page ("Client Credentials", "Details"): a region named by its heading, with its own controls on the right. */
export function SectionCard({ title, description, actions, children }: { title: string; description?: ReactNode; actions?: ReactNode; children: ReactNode }) {
  const headingId = useId();
  const heading = (
    <Title order={2} size="h4" id={headingId} mb={description === undefined && actions === undefined ? 'sm' : 0}>
      {title}
    </Title>
  );
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby={headingId}>
      {actions === undefined ? (
        heading
      ) : (
        <Group justify="space-between" align="center" gap="sm" mb={description === undefined ? 'sm' : 4}>
          {heading}
          {actions}
        </Group>
      )}
      {description !== undefined && (
        <Text size="sm" c="dimmed" mb="md">
          {description}
        </Text>
      )}
      {children}
    </Card>
  );
}
