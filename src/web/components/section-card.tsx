import { Card, Text, Title } from '@mantine/core';
import { useId, type ReactNode } from 'react';

/** A titled part of a page ("Client Credentials", "Details"): a region named by its heading. */
export function SectionCard({ title, description, children }: { title: string; description?: ReactNode; children: ReactNode }) {
  const headingId = useId();
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby={headingId}>
      <Title order={2} size="h4" id={headingId} mb={description === undefined ? 'sm' : 0}>
        {title}
      </Title>
      {description !== undefined && (
        <Text size="sm" c="dimmed" mb="md">
          {description}
        </Text>
      )}
      {children}
    </Card>
  );
}
