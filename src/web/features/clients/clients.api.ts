import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api';
import { removeFromPages } from '../../lib/paging';
import type { ApiClient, ApiClientWithSecret, BulkAction, BulkResult, ClientPage, CreatedApiClient, EffectivePermissions } from '../../lib/types';
import { clientKeys, fetchClientPage, type ClientListQuery } from './clients.requests';

/** Every client matching the list's search and filters, across all pages (for "select all" and the CSV). */
export async function fetchAllMatching(query: ClientListQuery): Promise<ApiClient[]> {
  const all: ApiClient[] = [];
  let cursor: string | null = null;
  do {
    const page: ClientPage = await fetchClientPage({ ...query, limit: 200 }, cursor);
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}

/** A spreadsheet cell: quoted, and a leading = + - @ defused so that no formula runs (CSV injection). */
function cell(value: string | null): string {
  const text = value ?? '';
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** The clients as CSV (RFC 4180), one row each, with a header. */
export function clientsCsv(clients: readonly ApiClient[]): string {
  const header = ['Name', 'Client ID', 'Status', 'Role', 'Description', 'Requests (7 days)', 'Last Used', 'Created'];
  const rows = clients.map((client) =>
    [
      client.name,
      client.id,
      client.enabled ? 'Enabled' : 'Disabled',
      client.role?.name ?? '',
      client.description,
      String(client.requests7d),
      client.lastUsedAt,
      client.createdAt,
    ]
      .map(cell)
      .join(','),
  );
  return [header.map(cell).join(','), ...rows].join('\r\n') + '\r\n';
}

export function useClient(id: string) {
  return useQuery({ queryKey: clientKeys.one(id), queryFn: ({ signal }) => api.get<ApiClient>(`/api/v1/clients/${id}`, undefined, signal) });
}

export function useClientPermissions(id: string) {
  return useQuery({
    queryKey: clientKeys.permissions(id),
    queryFn: ({ signal }) => api.get<EffectivePermissions>(`/api/v1/clients/${id}/permissions`, undefined, signal),
  });
}

/** Every change to a client: the list, the client and its permissions are read again. */
function useClientMutation<V, R>(mutationFn: (variables: V) => Promise<R>, clientOf: (result: R) => ApiClient | undefined = () => undefined) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: (result) => {
      const client = clientOf(result);
      if (client !== undefined) queryClient.setQueryData(clientKeys.one(client.id), client);
      void queryClient.invalidateQueries({ queryKey: clientKeys.all });
      void queryClient.invalidateQueries({ queryKey: ['audit'] });
    },
  });
}

export function useCreateClient() {
  return useClientMutation(
    (input: {
      name: string;
      description?: string;
      roleId?: string;
      secretExpiresAt?: string;
      authMethod?: 'client_secret' | 'private_key_jwt';
      publicKeys?: object[];
    }) => api.post<CreatedApiClient>('/api/v1/clients', input),
    (result) => result.client,
  );
}

export function useUpdateClient(id: string) {
  return useClientMutation(
    (patch: {
      name?: string;
      description?: string | null;
      enabled?: boolean;
      roleId?: string | null;
      allowedCidrs?: string[];
      rateLimit?: { requestsPerMinute?: number | null; tokensPerMinute?: number | null };
      requireDpop?: boolean;
    }) => api.patch<ApiClient>(`/api/v1/clients/${id}`, patch),
    (client) => client,
  );
}

/** A new secret; `keepPreviousFor` seconds of overlap with the old one, `expiresAt` for the new one. */
export function useRegenerateSecret(id: string) {
  return useClientMutation(
    (choices: { keepPreviousFor: number; expiresAt: string | null }) => api.post<ApiClientWithSecret>(`/api/v1/clients/${id}/secret`, choices),
    (result) => result.client,
  );
}

/** Ends a rotation's overlap now: the previous secret and its tokens stop working. */
export function useEndPreviousSecret(id: string) {
  return useClientMutation(() => api.delete(`/api/v1/clients/${id}/previous-secret`));
}

export function useDeleteClient(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api.delete(`/api/v1/clients/${id}`),
    // The page of the deleted client is left at once: its own query is not read again (it would 404).
    onSuccess: () => {
      removeFromPages(queryClient, ['clients', 'list'], id);
      void queryClient.invalidateQueries({ queryKey: ['audit'] });
    },
  });
}

export function useBulkClients() {
  return useClientMutation((input: { action: BulkAction; ids: string[] }) => api.post<BulkResult>('/api/v1/clients/bulk', input));
}

/** Adds a public key (a JWK) to a private_key_jwt client; its assertions authenticate from the next request. */
export function useAddClientKey(id: string) {
  return useClientMutation(
    (jwk: object) => api.post<ApiClient>(`/api/v1/clients/${id}/keys`, { jwk }),
    (client) => client,
  );
}

/** Removes a key: assertions signed with it, and the tokens it authenticated, stop working. */
export function useRemoveClientKey(id: string) {
  return useClientMutation((kid: string) => api.delete(`/api/v1/clients/${id}/keys/${encodeURIComponent(kid)}`));
}
