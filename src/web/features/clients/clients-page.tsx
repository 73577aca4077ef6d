import { Button } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconFileTypeCsv, IconFilterOff, IconPlugConnected, IconPlus } from '../../components/icons';
import { useCallback, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { BULK_MAX_IDS } from '../../../shared/limits';
import { download } from '../../lib/download';
import { EmptyState } from '../../components/empty-state';
import { loadWhenIdle } from '../../components/load-when-idle';
import { Hint } from '../../components/later-floating';
import { ErrorAlert } from '../../components/error-alert';
import { PageHeader } from '../../components/page-header';
import { SearchInput } from '../../components/search-input';
import { errorMessage } from '../../lib/api';
import { useListPage } from '../../lib/list-page';
import type { ApiClient, BulkAction, BulkResult, CreatedApiClient } from '../../lib/types';
import { useCan } from '../session/session';
import { clientsCsv, fetchAllMatching, useBulkClients } from './clients.api';
import { CLIENT_LIST_SORT, CLIENT_SORTS, clientKeys, clientListFilters, clientListQuery, fetchClientPage } from './clients.requests';
import { ClientFilters } from './client-filters';
import { ClientTable } from './client-table';
import type { Credentials } from './credentials-dialog';

const CreateClientDialog = loadWhenIdle(
  async () => (await import('./create-client-dialog')).CreateClientDialog,
  (props) => props.opened,
);
const CredentialsDialog = loadWhenIdle(
  async () => (await import('./credentials-dialog')).CredentialsDialog,
  (props) => props.credentials !== null,
);

const DONE: Record<BulkAction, string> = { enable: 'enabled', disable: 'disabled', delete: 'deleted' };
const plural = (count: number) => `${count} API ${count === 1 ? 'client' : 'clients'}`;
const were = (count: number) => (count === 1 ? 'was' : 'were');

/** What a bulk action did, counting the clients it changed, not those that already were so. */
export function bulkMessage(action: BulkAction, result: BulkResult): { color: string; title: string; message: string } {
  const changed = result.changed.length;
  const unchanged = result.succeeded.length - changed;
  const refused = result.refused.length;
  const reasons = [...new Set(result.refused.map((refusal) => refusal.reason))].join('; ');
  const notes = [
    unchanged > 0 ? `${plural(unchanged)} ${were(unchanged)} already ${DONE[action]}.` : '',
    result.notFound.length > 0 ? `${plural(result.notFound.length)} no longer existed.` : '',
    refused > 0 ? `${plural(refused)} left unchanged: ${reasons}.` : '',
  ].filter(Boolean);
  const effect =
    changed === 0
      ? ''
      : action === 'disable'
        ? `Their tokens are refused until they are enabled again.`
        : action === 'enable'
          ? `They can authenticate again with their current credentials.`
          : `Their credentials no longer work.`;
  return {
    color: refused > 0 ? 'orange' : 'teal',
    title: changed === 0 ? `No API client ${DONE[action]}` : `${plural(changed)} ${DONE[action]}`,
    message: [effect, ...notes].filter(Boolean).join(' '),
  };
}

/** `/system/connections`: the API client list. */
export function ClientsPage() {
  const navigate = useNavigate();
  const can = useCan();
  const [url, setUrl] = useSearchParams();
  const { roleId, unusedFor, neverUsed, expiringWithin, expired } = clientListFilters(url);
  const setRoleId = (next: string | null) =>
    setUrl((current) => {
      const params = new URLSearchParams(current);
      if (next === null) params.delete('roleId');
      else params.set('roleId', next);
      params.delete('page');
      return params;
    });
  /** A menu filter in the URL: `flag=true` for its one word choice, `days=Nd` for a number of days, neither for ''. */
  const daysFilterSetter = (flag: string, word: string, days: string) => (value: string) =>
    setUrl((current) => {
      const params = new URLSearchParams(current);
      params.delete(flag);
      params.delete(days);
      if (value === word) params.set(flag, 'true');
      else if (value !== '') params.set(days, value);
      params.delete('page');
      return params;
    });
  const setUseFilter = daysFilterSetter('neverUsed', 'never', 'unusedFor');
  const useFilter = neverUsed ? 'never' : (unusedFor ?? '');
  const setExpiryFilter = daysFilterSetter('expired', 'expired', 'expiringWithin');
  const expiryFilter = expired ? 'expired' : (expiringWithin ?? '');
  const [exporting, setExporting] = useState(false);
  const { params, setParams, pages, data, refreshing, failed, search, pagination } = useListPage({
    sort: CLIENT_LIST_SORT,
    sorts: CLIENT_SORTS,
    query: (params) => clientListQuery(params, url),
    queryKey: clientKeys.list,
    fetchPage: fetchClientPage,
  });
  const bulk = useBulkClients();
  const open = useCallback((client: ApiClient) => void navigate(`/system/connections/${client.id}`), [navigate]);
  const [creating, setCreating] = useState(false);
  const [credentials, setCredentials] = useState<Credentials | null>(null);
  const addButtonRef = useRef<HTMLButtonElement>(null);

  const filtered = params.q !== '' || params.status !== null || roleId !== null || useFilter !== '' || expiryFilter !== '';
  const listQuery = clientListQuery(params, url);
  const exportCsv = async () => {
    setExporting(true);
    try {
      download('api-clients.csv', clientsCsv(await fetchAllMatching(listQuery)), 'text/csv');
    } catch (error) {
      notifications.show({ color: 'red', title: 'Could not export the API clients', message: errorMessage(error) });
    } finally {
      setExporting(false);
    }
  };

  const onBulk = async (action: BulkAction, ids: string[]) => {
    try {
      // The API takes up to 1,000 ids at once: "all that match" may be more.
      const results: BulkResult[] = [];
      for (let start = 0; start < ids.length; start += BULK_MAX_IDS)
        results.push(await bulk.mutateAsync({ action, ids: ids.slice(start, start + BULK_MAX_IDS) }));
      const result: BulkResult = {
        action,
        succeeded: results.flatMap((one) => one.succeeded),
        notFound: results.flatMap((one) => one.notFound),
        refused: results.flatMap((one) => one.refused),
        changed: results.flatMap((one) => one.changed),
      };
      notifications.show(bulkMessage(action, result));
    } catch (error) {
      notifications.show({ color: 'red', title: `Could not ${action} the selected clients`, message: errorMessage(error) });
      throw error;
    }
  };

  const onCreated = (created: CreatedApiClient) => {
    setCreating(false);
    setCredentials({ clientId: created.client.id, clientSecret: created.clientSecret, clientName: created.client.name });
    const { name, role } = created.client;
    notifications.show({
      color: 'teal',
      title: 'API client created',
      message:
        role === null
          ? `${name} can get tokens, but has no role yet, so it can call nothing: give it a role on its Roles tab.`
          : `${name} can authenticate and call what the role ${role.name} allows.`,
    });
  };

  const addButton = (
    <Hint label="You need the clients:create permission" disabled={can('clients:create')}>
      <Button ref={addButtonRef} leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)} disabled={!can('clients:create')}>
        Add API Client
      </Button>
    </Hint>
  );

  return (
    <>
      <PageHeader
        title="API Clients"
        crumbs={[{ label: 'System' }, { label: 'Connections' }]}
        description="OAuth 2.0 client credentials that external systems use to call the Koios GraphQL and REST APIs: a Client ID with a Client Secret, or with a key pair whose private half only the system holds."
        actions={addButton}
      />

      <ClientTable
        clients={data?.items}
        refreshing={refreshing}
        failure={failed === null ? undefined : <ErrorAlert error={failed} title="The API clients could not be loaded" onRetry={() => void pages.refetch()} />}
        selectionKey={JSON.stringify([params.q, params.status, roleId, unusedFor, neverUsed, expiringWithin, expired, params.sort, params.limit, params.page])}
        matching={data?.total}
        loadAllMatching={async () => fetchAllMatching(listQuery)}
        sort={params.sort}
        onSort={(sort) => setParams({ sort })}
        onOpen={open}
        onBulk={onBulk}
        canUpdate={can('clients:update')}
        canDelete={can('clients:delete')}
        pagination={pagination}
        toolbar={
          <>
            <SearchInput label="Search API clients" placeholder="Search name, description or ID" q={params.q} onSearch={search} w={{ base: '100%', xs: 300 }} />
            <ClientFilters
              status={params.status}
              onStatus={(status) => setParams({ status })}
              roles={can('roles:read') ? { roleId, onRole: setRoleId } : null}
              useFilter={useFilter}
              onUseFilter={setUseFilter}
              expiryFilter={expiryFilter}
              onExpiryFilter={setExpiryFilter}
            />
            <Button variant="default" leftSection={<IconFileTypeCsv size={16} aria-hidden />} loading={exporting} onClick={() => void exportCsv()}>
              Export CSV
            </Button>
          </>
        }
        empty={
          filtered ? (
            <EmptyState
              icon={<IconFilterOff size={24} />}
              title="No API clients match"
              action={
                <Button
                  variant="light"
                  onClick={() =>
                    setUrl((current) => {
                      const params = new URLSearchParams(current);
                      for (const key of ['q', 'status', 'roleId', 'unusedFor', 'neverUsed', 'expiringWithin', 'expired', 'page']) params.delete(key);
                      return params;
                    })
                  }
                >
                  Clear search and filter
                </Button>
              }
            >
              Nothing matches {params.q !== '' ? <>“{params.q}”</> : 'this filter'}
              {params.q !== '' && params.status !== null ? ` among ${params.status} clients` : ''}. Try another search, or clear the filter.
            </EmptyState>
          ) : (
            <EmptyState
              icon={<IconPlugConnected size={24} />}
              title="No API clients yet"
              action={
                can('clients:create') && (
                  <Button variant="light" leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreating(true)}>
                    Add your first API client
                  </Button>
                )
              }
            >
              Add an API client to give an external system its own credentials for the Koios APIs. A Client Secret is shown once, right after creating it; a
              client that signs with its own key has none.
            </EmptyState>
          )
        }
      />

      <CreateClientDialog opened={creating} onClose={() => setCreating(false)} onCreated={onCreated} returnFocus={credentials === null} />
      <CredentialsDialog credentials={credentials} title="API client created" onClose={() => setCredentials(null)} returnFocusTo={addButtonRef} />
    </>
  );
}
