import { Badge, Group, Paper } from '@mantine/core';
import type { ReactNode } from 'react';
import type { Role } from '../../lib/types';

/** One choice in a role list: a radio (clients) or a checkbox (users) with the role's summary. */
export function RoleChoice({ role, selected, control }: { role: Role; selected: boolean; control: (label: ReactNode, description: string) => ReactNode }) {
  return (
    <Paper
      withBorder
      radius="md"
      p="sm"
      style={{
        borderColor: selected ? 'var(--mantine-primary-color-filled)' : undefined,
        background: selected ? 'var(--mantine-primary-color-light)' : undefined,
      }}
    >
      {control(
        <Group gap={6} component="span">
          {role.name}
          {role.builtIn && (
            <Badge size="xs" variant="outline" color="gray" component="span">
              Built-in
            </Badge>
          )}
        </Group>,
        `${role.description || 'No description'} · ${role.permissions.length} ${role.permissions.length === 1 ? 'permission' : 'permissions'}`,
      )}
    </Paper>
  );
}
