import { Badge, Button, Stack, Text } from '@mantine/core';
import { useRef, useState } from 'react';
import { IconFilter } from '../../components/icons';
import { useFloating } from '../../components/later-floating';
import { useRoles } from '../roles/roles.api';

/** The "last use" filter's choices: the URL and the API take `neverUsed=true` or `unusedFor=Nd`. */
const USE_FILTERS = [
  { value: '', label: 'Any last use' },
  { value: 'never', label: 'Never used' },
  ...[30, 90, 180, 365].map((days) => ({ value: `${days}d`, label: `Not used for ${days} days` })),
];

/** The "secret expiry" filter's choices: the URL and the API take `expired=true` or `expiringWithin=Nd`. */
const EXPIRY_FILTERS = [
  { value: '', label: 'Any expiry' },
  { value: 'expired', label: 'Expired' },
  ...[7, 30, 90].map((days) => ({ value: `${days}d`, label: `Expiring within ${days} days` })),
];

/** A shared link may name a number of days the menu does not offer: it is added, in the menu's words. */
function withChoice(choices: readonly { value: string; label: string }[], value: string, label: (days: string) => string) {
  return choices.some((choice) => choice.value === value) ? choices : [...choices, { value, label: label(value.slice(0, -1)) }];
}

interface ClientFiltersProps {
  readonly status: 'enabled' | 'disabled' | null;
  readonly onStatus: (status: 'enabled' | 'disabled' | null) => void;
  /** The role filter, for those who may read roles (null hides it). */
  readonly roles: { readonly roleId: string | null; readonly onRole: (roleId: string | null) => void } | null;
  readonly useFilter: string;
  readonly onUseFilter: (value: string) => void;
  readonly expiryFilter: string;
  readonly onExpiryFilter: (value: string) => void;
}

/**
 * The list's filters behind one "Filters" button, which counts those in force: the toolbar stays one
 * row at laptop widths, and the first screen draws (and asks for the roles for) none of them.
 */
export function ClientFilters({ status, onStatus, roles, useFilter, onUseFilter, expiryFilter, onExpiryFilter }: ClientFiltersProps) {
  const [opened, setOpened] = useState(false);
  // The role names are needed to offer them, or to show the one a shared link filters by.
  const roleList = useRoles(roles !== null && (opened || roles.roleId !== null));
  const active = [status !== null, (roles?.roleId ?? null) !== null, useFilter !== '', expiryFilter !== ''].filter(Boolean).length;
  const target = useRef<HTMLButtonElement>(null);
  // The popover's code loads when the page is idle; a click before then loads it and opens it.
  const { parts, now } = useFloating(target);
  const button = (
    <Button
      ref={target}
      variant="default"
      leftSection={<IconFilter size={16} aria-hidden />}
      rightSection={
        active > 0 ? (
          <Badge size="sm" circle aria-hidden>
            {active}
          </Badge>
        ) : undefined
      }
      aria-label={active > 0 ? `Filters, ${active} in use` : 'Filters'}
      {...(parts === undefined && { 'aria-haspopup': 'dialog', 'aria-expanded': false })}
      onClick={() => {
        if (parts === undefined) now();
        setOpened((open) => !open);
      }}
    >
      Filters
    </Button>
  );
  if (parts === undefined) return button;
  const { NativeSelect, Popover, SegmentedControl } = parts;
  return (
    <Popover opened={opened} onChange={setOpened} position="bottom-start" shadow="md" width={300} trapFocus returnFocus>
      <Popover.Target>{button}</Popover.Target>
      <Popover.Dropdown>
        <Stack gap="sm">
          <div>
            <Text size="sm" fw={500} mb={4} aria-hidden>
              Status
            </Text>
            <SegmentedControl
              aria-label="Filter by status"
              fullWidth
              value={status ?? 'all'}
              onChange={(value) => onStatus(value === 'all' ? null : (value as 'enabled' | 'disabled'))}
              data={[
                { label: 'All', value: 'all' },
                { label: 'Enabled', value: 'enabled' },
                { label: 'Disabled', value: 'disabled' },
              ]}
            />
          </div>
          {roles !== null && (
            <NativeSelect
              label="Role"
              aria-label="Filter by role"
              value={roles.roleId ?? ''}
              onChange={(event) => roles.onRole(event.currentTarget.value === '' ? null : event.currentTarget.value)}
              data={[{ value: '', label: 'All roles' }, ...(roleList.data ?? []).map((role) => ({ value: role.id, label: role.name }))]}
            />
          )}
          <NativeSelect
            label="Last use"
            aria-label="Filter by last use"
            value={useFilter}
            onChange={(event) => onUseFilter(event.currentTarget.value)}
            data={withChoice(USE_FILTERS, useFilter, (days) => `Not used for ${days} days`)}
          />
          <NativeSelect
            label="Secret expiry"
            aria-label="Filter by secret expiry"
            value={expiryFilter}
            onChange={(event) => onExpiryFilter(event.currentTarget.value)}
            data={withChoice(EXPIRY_FILTERS, expiryFilter, (days) => `Expiring within ${days} days`)}
          />
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}
