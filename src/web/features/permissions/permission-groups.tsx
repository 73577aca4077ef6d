import { Badge, Code, Group, Paper, SimpleGrid, Skeleton, Stack, Switch, Text, Title } from '@mantine/core';
import type { PermissionCategory, PermissionKey } from '../../lib/types';

export interface PermissionGroupsProps {
  readonly categories: readonly PermissionCategory[] | undefined;
  /** Which keys are on; without it, each permission's own `granted`. */
  readonly granted?: ReadonlySet<string>;
  /** Makes the switches editable (a role's permissions); without it they only show. */
  readonly onToggle?: (key: PermissionKey, on: boolean) => void;
  readonly disabled?: boolean;
  /** One column, smaller: for a preview beside a list. */
  readonly compact?: boolean;
  /** Distinguishes the switches' ids when two sets are on one page. */
  readonly idPrefix?: string;
}

/**
 * Permissions grouped by category, each a switch under its category's heading: read-only for
 * effective permissions (clients, users), editable for a custom role. The same layout everywhere.
 */
export function PermissionGroups({ categories, granted, onToggle, disabled = false, compact = false, idPrefix = 'permission' }: PermissionGroupsProps) {
  if (categories === undefined) {
    return (
      <SimpleGrid cols={compact ? 1 : { base: 1, md: 2 }} aria-hidden>
        {[0, 1, 2, 3].map((index) => (
          <Skeleton key={index} h={compact ? 120 : 180} radius="md" />
        ))}
      </SimpleGrid>
    );
  }
  const isOn = (permission: PermissionCategory['permissions'][number]) =>
    granted === undefined ? 'granted' in permission && permission.granted : granted.has(permission.key);
  const readOnly = onToggle === undefined;
  return (
    <SimpleGrid cols={compact ? 1 : { base: 1, md: 2 }} spacing="md">
      {categories.map((category) => {
        const count = category.permissions.filter(isOn).length;
        const headingId = `${idPrefix}-${category.name.replace(/\W+/g, '-').toLowerCase()}`;
        return (
          <Paper key={category.name} withBorder radius="md" p={compact ? 'sm' : 'md'} component="section" aria-labelledby={headingId}>
            <Group justify="space-between" mb="sm" wrap="nowrap">
              <Title order={3} size={compact ? 'h5' : 'h4'} id={headingId}>
                {category.name}
              </Title>
              <Badge variant="light" color={count === 0 ? 'gray' : 'teal'} radius="sm">
                {count} of {category.permissions.length}
              </Badge>
            </Group>
            <Stack gap={compact ? 'xs' : 'sm'}>
              {category.permissions.map((permission) => {
                const on = isOn(permission);
                const id = `${idPrefix}-${permission.key.replace(':', '-')}`;
                return (
                  <Switch
                    key={permission.key}
                    id={id}
                    // Mantine wraps the description in the label: name the switch by its permission alone.
                    aria-label={permission.name}
                    aria-describedby={compact ? undefined : `${id}-description`}
                    checked={on}
                    disabled={disabled}
                    aria-readonly={readOnly || undefined}
                    readOnly={readOnly}
                    onChange={(event) => onToggle?.(permission.key, event.currentTarget.checked)}
                    color="teal"
                    size={compact ? 'xs' : 'sm'}
                    label={permission.name}
                    description={
                      compact ? undefined : (
                        <span id={`${id}-description`}>
                          <Code fz="xs">{permission.key}</Code> {permission.description}
                        </span>
                      )
                    }
                    styles={readOnly ? { track: { cursor: 'default' }, label: { cursor: 'default' } } : undefined}
                  />
                );
              })}
            </Stack>
          </Paper>
        );
      })}
      {categories.length === 0 && <Text c="dimmed">The server lists no permissions.</Text>}
    </SimpleGrid>
  );
}
