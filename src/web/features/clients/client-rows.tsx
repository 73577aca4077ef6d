import { Checkbox, Skeleton, Text } from '@mantine/core';
import { memo, type MouseEvent, type ReactNode } from 'react';
import { Link } from 'react-router';
import { CopyButton, PlainTime, ShortId } from '../../components/list-cells';
import { LookalikeBadge } from '../../components/lookalike-badge';
import { StatusBadge } from '../../components/status-badge';
import { TABLE } from '../../components/table-classes';
import { useHydrating } from '../../lib/hydration';
import type { ApiClient } from '../../lib/types';
import { SecretExpiry } from './secret-expiry';

/** A row's height, loaded or not (its skeleton too), so nothing jumps when the data arrives. */
export const ROW_HEIGHT = 58;

const REQUESTS = new Intl.NumberFormat();
/** The server's page counts in one fixed locale, the browser's being unknown to it; the browser's own once taken over. */
const REQUESTS_AS_SERVED = new Intl.NumberFormat('en-US');
const useRequestsFormat = () => (useHydrating() ? REQUESTS_AS_SERVED : REQUESTS);

/** Below this width the list is cards: a table of eight columns cannot be read on a phone. */
export const PHONE = '(max-width: 47.99em)';

const openRow = (event: MouseEvent, client: ApiClient, onOpen: (client: ApiClient) => void) => {
  // Text being selected, or a click on a control in the row, is not "open".
  if (window.getSelection()?.toString() || (event.target as HTMLElement).closest('button, a, input, label')) return;
  onOpen(client);
};

/**
 * A row and its cells as Mantine's Table draws them (its classes, row borders, hover), as plain
 * elements: fifty rows of Table.Tr and Table.Td are four hundred themed components to render.
 */
const TR = TABLE.tr;
const TD = TABLE.td;

/**
 * One client's row, memoised: selecting one client renders one row, not fifty. Its cells are plain
 * elements (no Tooltip, no Menu per row), so that a page of rows renders fast.
 */
export const ClientRow = memo(function ClientRow({
  client,
  selected,
  onToggle,
  onOpen,
}: {
  client: ApiClient;
  selected: boolean;
  onToggle: (id: string, on: boolean) => void;
  onOpen: (client: ApiClient) => void;
}) {
  const requests = useRequestsFormat();
  return (
    <tr
      className={client.enabled ? TR : `${TR} koios-row-disabled`}
      data-with-row-border
      data-hover
      style={{ height: ROW_HEIGHT, cursor: 'pointer', background: selected ? 'var(--mantine-primary-color-light)' : undefined }}
      data-disabled={client.enabled ? undefined : true}
      onClick={(event) => openRow(event, client, onOpen)}
    >
      <td className={TD}>
        <Checkbox aria-label={`Select ${client.name}`} checked={selected} onChange={(event) => onToggle(client.id, event.currentTarget.checked)} />
      </td>
      <td className={TD}>
        <StatusBadge enabled={client.enabled} />
      </td>
      <td className={TD} style={{ overflowWrap: 'break-word', minWidth: 160 }}>
        <Link to={`/system/connections/${client.id}`} className="koios-card-name">
          {client.name}
        </Link>
        <LookalikeBadge name={client.name} />
        {client.description !== null && client.description !== '' && (
          <Text size="xs" c="dimmed" lineClamp={1}>
            {client.description}
          </Text>
        )}
        <SecretExpiry expiresAt={client.secretExpiresAt} />
      </td>
      <td className={TD} style={{ overflowWrap: 'break-word' }}>
        {client.role === null ? <span className="koios-secondary koios-nowrap">No role</span> : client.role.name}
      </td>
      <td className={TD}>
        <span className="koios-nowrap">
          <ShortId value={client.id} />
          <CopyButton value={client.id} label={`Copy client ID of ${client.name}`} />
        </span>
      </td>
      <td className={`${TD} koios-nowrap koios-count`}>{requests.format(client.requests7d)}</td>
      <td className={`${TD} koios-nowrap`}>
        <PlainTime value={client.lastUsedAt} />
      </td>
      <td className={`${TD} koios-nowrap`}>
        <PlainTime value={client.createdAt} />
      </td>
    </tr>
  );
});

/** The list on a phone: one card per client (name, status, ID with copy, last used, requests). */
export function ClientCards({
  clients,
  selected,
  onToggle,
  empty,
  failure,
  refreshing,
}: {
  clients: readonly ApiClient[] | undefined;
  selected: ReadonlySet<string>;
  onToggle: (id: string, on: boolean) => void;
  empty?: ReactNode;
  failure?: ReactNode;
  refreshing: boolean;
}) {
  const requests = useRequestsFormat();
  if (failure !== undefined) return <>{failure}</>;
  if (clients === undefined) return <Skeleton h={ROW_HEIGHT * 3} aria-label="Loading the API clients" />;
  if (clients.length === 0) return <>{empty}</>;
  return (
    <ul className="koios-cards" aria-label="API clients" aria-busy={refreshing} style={{ opacity: refreshing ? 0.6 : 1 }}>
      {clients.map((client) => (
        <li key={client.id} className={`koios-card${client.enabled ? '' : ' koios-row-disabled'}`}>
          <Checkbox
            aria-label={`Select ${client.name}`}
            checked={selected.has(client.id)}
            onChange={(event) => onToggle(client.id, event.currentTarget.checked)}
          />
          <Link to={`/system/connections/${client.id}`} className="koios-card-name">
            {client.name}
          </Link>
          <LookalikeBadge name={client.name} />
          <StatusBadge enabled={client.enabled} />
          <div className="koios-card-line">
            <ShortId value={client.id} />
            <CopyButton value={client.id} label={`Copy client ID of ${client.name}`} />
          </div>
          <div className="koios-card-line">
            <span className="koios-secondary">Last used</span> <PlainTime value={client.lastUsedAt} />
            {client.role !== null && <span className="koios-secondary">· {client.role.name}</span>}
          </div>
          <div className="koios-card-line">
            <span className="koios-secondary">Requests (7 days)</span> {requests.format(client.requests7d)}
          </div>
          <SecretExpiry expiresAt={client.secretExpiresAt} />
        </li>
      ))}
    </ul>
  );
}
