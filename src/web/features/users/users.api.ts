import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../lib/api';
import { removeFromPages } from '../../lib/paging';
import type { EffectivePermissions, User, UserPage } from '../../lib/types';

export interface UserListQuery {
  /** Part of a name or an email; '' for every user. */
  readonly q: string;
  readonly limit: number;
}

export const userKeys = {
  all: ['users'] as const,
  list: (query: UserListQuery) => ['users', 'list', query] as const,
  one: (id: string) => ['users', 'one', id] as const,
  permissions: (id: string) => ['users', 'one', id, 'permissions'] as const,
};

export function fetchUserPage(query: UserListQuery, cursor: string | null, signal?: AbortSignal) {
  return api.get<UserPage>('/api/v1/users', { limit: query.limit, cursor, q: query.q.trim() }, signal);
}

export function useUser(id: string) {
  return useQuery({ queryKey: userKeys.one(id), queryFn: ({ signal }) => api.get<User>(`/api/v1/users/${id}`, undefined, signal) });
}

export function useUserPermissions(id: string) {
  return useQuery({
    queryKey: userKeys.permissions(id),
    queryFn: ({ signal }) => api.get<EffectivePermissions>(`/api/v1/users/${id}/permissions`, undefined, signal),
  });
}

export interface CreateUserInput {
  readonly email: string;
  readonly name?: string;
  readonly password: string;
  readonly roleIds: string[];
}

export interface UpdateUserInput {
  readonly email?: string;
  readonly name?: string;
  readonly enabled?: boolean;
  readonly password?: string;
  readonly roleIds?: string[];
  /** Your own password, to change your own password or email. */
  readonly currentPassword?: string;
}

function useUserMutation<V, R>(mutationFn: (variables: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: (result) => {
      const user = result as User | undefined;
      if (user?.id !== undefined) queryClient.setQueryData(userKeys.one(user.id), user);
      void queryClient.invalidateQueries({ queryKey: userKeys.all });
      void queryClient.invalidateQueries({ queryKey: ['me'] });
      void queryClient.invalidateQueries({ queryKey: ['audit'] });
    },
  });
}

export function useCreateUser() {
  return useUserMutation((input: CreateUserInput) => api.post<User>('/api/v1/users', input));
}

export function useUpdateUser(id: string) {
  return useUserMutation((patch: UpdateUserInput) => api.patch<User>(`/api/v1/users/${id}`, patch));
}

export function useDeleteUser(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api.delete(`/api/v1/users/${id}`),
    // The page of the deleted user is left at once: its own query is not read again (it would 404).
    onSuccess: () => {
      removeFromPages(queryClient, ['users', 'list'], id);
      void queryClient.invalidateQueries({ queryKey: ['audit'] });
    },
  });
}
