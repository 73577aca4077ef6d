import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api';
import type { Role } from '../../lib/types';

export const roleKeys = {
  all: ['roles'] as const,
  list: ['roles', 'list'] as const,
  one: (id: string) => ['roles', 'one', id] as const,
};

export function useRoles(enabled = true) {
  return useQuery({
    queryKey: roleKeys.list,
    enabled,
    queryFn: async ({ signal }) => (await api.get<{ items: Role[] }>('/api/v1/roles', undefined, signal)).items,
  });
}

export function useRole(id: string) {
  return useQuery({ queryKey: roleKeys.one(id), queryFn: ({ signal }) => api.get<Role>(`/api/v1/roles/${id}`, undefined, signal) });
}

export interface RoleInput {
  readonly name: string;
  readonly description?: string;
  readonly permissions: string[];
}

/** A role change can change what clients and users may do: their permissions are read again too. */
function useRoleMutation<V, R>(mutationFn: (variables: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: roleKeys.all });
      void queryClient.invalidateQueries({ queryKey: ['clients'] });
      void queryClient.invalidateQueries({ queryKey: ['users'] });
      void queryClient.invalidateQueries({ queryKey: ['me'] });
      void queryClient.invalidateQueries({ queryKey: ['audit'] });
    },
  });
}

export function useCreateRole() {
  return useRoleMutation((input: RoleInput) => api.post<Role>('/api/v1/roles', input));
}

export function useUpdateRole(id: string) {
  return useRoleMutation((patch: Partial<RoleInput>) => api.patch<Role>(`/api/v1/roles/${id}`, patch));
}

export function useDeleteRole(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api.delete(`/api/v1/roles/${id}`),
    // The role's page is left at once: its own query is not read again (it would 404).
    onSuccess: () => {
      queryClient.setQueryData<Role[]>(roleKeys.list, (roles) => roles?.filter((role) => role.id !== id));
      for (const key of [roleKeys.list, ['clients'], ['users'], ['me'], ['audit']])
        void queryClient.invalidateQueries({ queryKey: key, exact: key === roleKeys.list });
    },
  });
}
