import { useQuery } from '@tanstack/react-query';
import { groupPermissions } from '../../../shared/permissions';
import { api } from '../../lib/api';
import type { PermissionCatalog, PermissionCategory } from '../../lib/types';

/** The catalog this console was built with: shown until the server's own answer arrives. */
const BUILT_IN_CATALOG: PermissionCategory[] = groupPermissions((p) => ({ key: p.key, name: p.name, description: p.description }));

/** The permission catalog by category (GET /api/v1/permissions). */
export function usePermissionCatalog(): PermissionCategory[] {
  const query = useQuery({
    queryKey: ['permissions'],
    queryFn: ({ signal }) => api.get<PermissionCatalog>('/api/v1/permissions', undefined, signal),
    staleTime: 5 * 60_000,
  });
  return query.data?.categories ?? BUILT_IN_CATALOG;
}
