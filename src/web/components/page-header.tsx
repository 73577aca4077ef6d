import { Anchor, Breadcrumbs, Group, Stack, Text, Title } from '@mantine/core';
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
        <Breadcrumbs separator="›" aria-label="Breadcrumb" fz="sm">
          {crumbs.map((crumb) =>
            crumb.to === undefined ? (
              <Text key={crumb.label} size="sm" c="dimmed">
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
      <Group justify="space-between" align="center" wrap="wrap" gap="sm" mih={40}>
        <Group gap="sm" align="center" wrap="nowrap" miw={0}>
          <Title order={1} size="h2" style={{ overflowWrap: 'anywhere' }}>
            {title}
          </Title>
          {badge}
        </Group>
        {actions !== undefined && <Group gap="sm">{actions}</Group>}
      </Group>
      {description !== undefined && (
        <Text c="dimmed" size="sm" maw={720}>
          {description}
        </Text>
      )}
    </Stack>
  );
}
