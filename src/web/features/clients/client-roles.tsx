import { Anchor, Button, Grid, Group, Paper, Radio, Skeleton, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useState } from 'react';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/error-alert';
import type { ApiClient } from '../../lib/types';
import { PermissionGroups } from '../permissions/permission-groups';
import { usePermissionCatalog } from '../permissions/permissions.api';
import { RoleChoice } from '../roles/role-choice';
import { useRoles } from '../roles/roles.api';
import { useCan } from '../session/session';
import { useUpdateClient } from './clients.api';

const NO_ROLE = 'none';

/**
 * Roles tab: every role as a radio, plus "No role". Choosing one previews its permissions beside
 * the list; Save role applies it (an API client has one role at a time).
 */
export function ClientRoles({ client }: { client: ApiClient }) {
  const roles = useRoles();
  const catalog = usePermissionCatalog();
  const update = useUpdateClient(client.id);
  const can = useCan();
  const current = client.role?.id ?? NO_ROLE;
  const [choice, setChoice] = useState(current);
  const [seen, setSeen] = useState(current);
  if (seen !== current) {
    setSeen(current);
    setChoice(current);
  }
  const chosen = roles.data?.find((role) => role.id === choice) ?? null;
  const dirty = choice !== current;

  const save = () =>
    update.mutate(
      { roleId: choice === NO_ROLE ? null : choice },
      {
        onSuccess: (saved) =>
          notifications.show({
            color: 'teal',
            title: 'Role saved',
            message: saved.role === null ? `${saved.name} has no role now.` : `${saved.name} now has the role ${saved.role.name}.`,
          }),
      },
    );

  return (
    <Grid gutter="xl">
      <Grid.Col span={{ base: 12, md: 5 }}>
        {roles.isError ? (
          <ErrorAlert error={roles.error} title="The roles could not be loaded" onRetry={() => void roles.refetch()} />
        ) : (
          <Radio.Group
            value={choice}
            onChange={(value) => {
              update.reset();
              setChoice(value);
            }}
            label="Role"
            description="Select a role to preview what it grants, then save. An API client has one role at a time."
          >
            <Stack gap="xs" mt="sm">
              <Paper
                withBorder
                radius="md"
                p="sm"
                style={{
                  borderColor: choice === NO_ROLE ? 'var(--mantine-primary-color-filled)' : undefined,
                  background: choice === NO_ROLE ? 'var(--mantine-primary-color-light)' : undefined,
                }}
              >
                <Radio value={NO_ROLE} label="No role" description="It can get tokens but may not call anything that needs a permission." />
              </Paper>
              {roles.isPending
                ? [0, 1].map((index) => <Skeleton key={index} h={62} radius="md" />)
                : roles.data.map((role) => (
                    <RoleChoice
                      key={role.id}
                      role={role}
                      selected={choice === role.id}
                      control={(label, description) => <Radio value={role.id} label={label} aria-label={role.name} description={description} />}
                    />
                  ))}
            </Stack>
          </Radio.Group>
        )}
        <Stack gap="sm" mt="md">
          {update.error !== null && <ErrorAlert error={update.error} title="The role was not changed" />}
          <Group gap="sm">
            <Button onClick={save} disabled={!dirty || !can('roles:assign')} loading={update.isPending}>
              Save role
            </Button>
            <Button variant="default" disabled={!dirty || update.isPending} onClick={() => setChoice(current)}>
              Discard
            </Button>
          </Group>
          {!can('roles:assign') && (
            <Text size="sm" c="dimmed">
              You need the roles:assign permission to change roles.
            </Text>
          )}
        </Stack>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 7 }}>
        <Stack gap="sm" aria-live="polite">
          <Title order={2} size="h4">
            {choice === NO_ROLE ? 'Without a role' : `What ${chosen?.name ?? 'this role'} grants`}
          </Title>
          <Text size="sm" c="dimmed">
            {dirty ? 'A preview: nothing changes until you save.' : 'What the client may do now.'}{' '}
            {chosen !== null && (
              <Anchor component={Link} to={`/roles/${chosen.id}`} size="sm">
                Open the role
              </Anchor>
            )}
          </Text>
          <PermissionGroups categories={catalog} granted={new Set(chosen?.permissions ?? [])} compact idPrefix="preview" />
        </Stack>
      </Grid.Col>
    </Grid>
  );
}
