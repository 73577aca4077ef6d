import { Anchor, Badge, Button, Checkbox, Grid, Group, Paper, Radio, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/error-alert';
import type { Role } from '../../lib/types';
import { PermissionGroups } from '../permissions/permission-groups';
import { usePermissionCatalog } from '../permissions/permissions.api';
import { useCan } from '../session/session';
import { useRoles } from './roles.api';

const NO_ROLE = 'none';

export interface RoleAssignmentProps {
  /** The ids of the roles held now. */
  readonly current: readonly string[];
  /** A user holds any number of roles (checkboxes); an API client one or none (radios, with "No role"). */
  readonly multiple: boolean;
  /** Who holds them, in the preview's words: "the client", "the user". */
  readonly holder: string;
  /** Under the list's label: what choosing does. */
  readonly description: string;
  /** Applies the choice; the caller says so in a notification. */
  readonly onSave: (roleIds: string[]) => void;
  readonly saving: boolean;
  /** Why the last save failed, shown under the list; null when it did not. */
  readonly error: unknown;
  /** A new choice after a failed save: the caller clears that failure. */
  readonly onEdit: () => void;
}

/** One role as a choice: its name, Built-in, its description and how many permissions it grants. */
function RoleChoice({ role, selected, control }: { role: Role; selected: boolean; control: (label: ReactNode, description: string) => ReactNode }) {
  return (
    <ChoiceCard selected={selected}>
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
    </ChoiceCard>
  );
}

function ChoiceCard({ selected, children }: { selected: boolean; children: ReactNode }) {
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
      {children}
    </Paper>
  );
}

/**
 * The Roles tab of an API client and of a user, in one layout: every role as a choice on the left,
 * what the choice grants on the right. Choosing only previews; Save applies it, Discard goes back.
 */
export function RoleAssignment({ current, multiple, holder, description, onSave, saving, error, onEdit }: RoleAssignmentProps) {
  const roles = useRoles();
  const catalog = usePermissionCatalog();
  const can = useCan();
  const held = [...current].sort().join();
  const [choice, setChoice] = useState<string[]>([...current]);
  // Saved here or changed elsewhere: show what is held now.
  const [seen, setSeen] = useState(held);
  if (seen !== held) {
    setSeen(held);
    setChoice([...current]);
  }
  const dirty = [...choice].sort().join() !== held;
  const chosen = (roles.data ?? []).filter((role) => choice.includes(role.id));
  const granted = new Set(chosen.flatMap((role) => role.permissions));
  const choose = (ids: string[]) => {
    onEdit();
    setChoice(ids);
  };

  const choices = roles.isPending
    ? [0, 1].map((index) => <Skeleton key={index} h={62} radius="md" />)
    : (roles.data ?? []).map((role) => (
        <RoleChoice
          key={role.id}
          role={role}
          selected={choice.includes(role.id)}
          control={(label, summary) =>
            multiple ? (
              <Checkbox value={role.id} label={label} aria-label={role.name} description={summary} />
            ) : (
              <Radio value={role.id} label={label} aria-label={role.name} description={summary} />
            )
          }
        />
      ));
  const noRoles = roles.data?.length === 0 && (
    <Text size="sm" c="dimmed">
      There are no roles yet. Create one on the <Link to="/roles">Roles</Link> page.
    </Text>
  );
  const only = chosen[0];
  const previewTitle = multiple ? 'What these roles grant' : choice.length === 0 ? 'Without a role' : `What ${only?.name ?? 'this role'} grants`;

  return (
    <Grid gutter="xl">
      <Grid.Col span={{ base: 12, md: 5 }}>
        {roles.isError ? (
          <ErrorAlert error={roles.error} title="The roles could not be loaded" onRetry={() => void roles.refetch()} />
        ) : multiple ? (
          <Checkbox.Group label="Roles" description={description} value={choice} onChange={choose}>
            <Stack gap="xs" mt="sm">
              {choices}
              {noRoles}
            </Stack>
          </Checkbox.Group>
        ) : (
          <Radio.Group label="Role" description={description} value={choice[0] ?? NO_ROLE} onChange={(value) => choose(value === NO_ROLE ? [] : [value])}>
            <Stack gap="xs" mt="sm">
              <ChoiceCard selected={choice.length === 0}>
                <Radio value={NO_ROLE} label="No role" description="It can get tokens but may not call anything that needs a permission." />
              </ChoiceCard>
              {choices}
            </Stack>
          </Radio.Group>
        )}
        <Stack gap="sm" mt="md">
          {error !== null && error !== undefined && <ErrorAlert error={error} title={multiple ? 'The roles were not changed' : 'The role was not changed'} />}
          {/* The same order as every form of the console: Discard, then the primary Save on the right. */}
          <Group gap="sm" justify="flex-end">
            <Button variant="default" disabled={!dirty || saving} onClick={() => setChoice([...current])}>
              Discard
            </Button>
            <Button onClick={() => onSave(choice)} disabled={!dirty || !can('roles:assign')} loading={saving}>
              {multiple ? 'Save roles' : 'Save role'}
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
            {previewTitle}
          </Title>
          <Text size="sm" c="dimmed">
            {dirty ? 'A preview: nothing changes until you save.' : `What ${holder} may do now.`}{' '}
            {!multiple && only !== undefined && (
              <Anchor component={Link} to={`/roles/${only.id}`} size="sm">
                Open the role
              </Anchor>
            )}
          </Text>
          <PermissionGroups categories={catalog} granted={granted} compact idPrefix="preview" />
        </Stack>
      </Grid.Col>
    </Grid>
  );
}
