import { Stack, Text } from '@mantine/core';
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ErrorAlert } from '../../components/error-alert';
import type { EffectivePermissions as Granted } from '../../lib/types';
import { PermissionGroups } from './permission-groups';

/**
 * The Permissions tab of an API client and of a user: what its roles grant now, every permission
 * of the catalog as a read-only switch under its category (the same layout for both).
 */
export function EffectivePermissions({ permissions, note }: { permissions: UseQueryResult<Granted>; note: ReactNode }) {
  return (
    <Stack gap="md">
      <Text size="sm" c="dimmed">
        {note}
      </Text>
      {permissions.isError ? (
        <ErrorAlert error={permissions.error} title="The permissions could not be loaded" onRetry={() => void permissions.refetch()} />
      ) : (
        <PermissionGroups categories={permissions.data?.categories} />
      )}
    </Stack>
  );
}
