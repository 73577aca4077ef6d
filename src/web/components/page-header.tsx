import { Anchor, Breadcrumbs, Flex, Group, Stack, Text, Title } from '@mantine/core';
import { useDocumentTitle } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { Link } from 'react-router';

export interface Crumb {
  readonly label: string;
  readonly to?: string;
}

/** The page's title (and the document's), where it sits, and its main actions. */
export function PageHeader({
  title,
  crumbs = [],
  description,
  actions,
  badge,
}: {
  title: ReactNode;
  crumbs?: Crumb[];
  description?: ReactNode;
  actions?: ReactNode;
  badge?: ReactNode;
}) {
  useDocumentTitle(`${typeof title === 'string' ? title : (crumbs.at(-1)?.label ?? 'Console')} · Koios Access`);
  return (
    <Stack gap={6} mb="lg">
      {crumbs.length > 0 && (
        <Breadcrumbs separator="›" aria-label="Breadcrumb" fz="sm" style={{ flexWrap: 'wrap', rowGap: 2 }}>
          {crumbs.map((crumb) =>
            crumb.to === undefined ? (
              // A long name is whole in the title below: here it may end in an ellipsis.
              <Text key={crumb.label} size="sm" c="dimmed" truncate="end" maw="min(480px, 70vw)">
                {crumb.label}
              </Text>
            ) : (
              <Anchor key={crumb.label} component={Link} to={crumb.to} size="sm">
                {crumb.label}
              </Anchor>
            ),
          )}
        </Breadcrumbs>
      )}
      {/* A long title wraps in its own column; the actions keep their place on its right (below it on a phone). */}
      <Flex direction={{ base: 'column', sm: 'row' }} justify="space-between" align={{ base: 'stretch', sm: 'center' }} gap="sm" mih={40}>
        <Group gap="sm" align="center" wrap="nowrap" miw={0} style={{ flex: 1 }}>
          <Title order={1} size="h2" style={{ overflowWrap: 'anywhere', minWidth: 0 }}>
            {title}
          </Title>
          {badge !== undefined && <div style={{ flexShrink: 0 }}>{badge}</div>}
        </Group>
        {actions !== undefined && (
          <Group gap="sm" wrap="nowrap" style={{ flexShrink: 0 }}>
            {actions}
          </Group>
        )}
      </Flex>
      {description !== undefined && (
        <Text c="dimmed" size="sm" maw={720}>
          {description}
        </Text>
      )}
    </Stack>
  );
}
