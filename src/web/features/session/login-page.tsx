import { Alert, Button, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { ErrorAlert } from '../../components/error-alert';
import { api, ApiError, SESSION_ENDED } from '../../lib/api';
import type { Session } from '../../lib/types';
import { AuthCard } from './auth-card';
import { safeNext, useAcceptSession, useSession } from './session';

/** `/login`: Email, Password, Sign in. */
export function LoginPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNext(params.get('next'));
  const accept = useAcceptSession();
  const session = useSession();
  const setup = useQuery({ queryKey: ['setup'], queryFn: () => api.get<{ required: boolean }>('/api/v1/setup'), retry: false });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [missing, setMissing] = useState<{ email?: string; password?: string }>({});

  const signIn = useMutation({
    mutationFn: () => api.post<Session>('/api/v1/session', { email: email.trim(), password }),
    onSuccess: (created) => {
      accept(created);
      void navigate(next, { replace: true });
    },
  });

  if (session.data !== undefined && !signIn.isPending && !signIn.isSuccess) return <Navigate to={next} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problems = {
      ...(email.trim() === '' ? { email: 'Enter your email address' } : {}),
      ...(password === '' ? { password: 'Enter your password' } : {}),
    };
    setMissing(problems);
    if (Object.keys(problems).length === 0) signIn.mutate();
  };
  const error = signIn.error;

  return (
    <AuthCard title="Sign in" description="Manage API clients, roles and users for the Koios APIs.">
      {params.get('reason') === 'session-ended' && (
        <Alert color="blue" variant="light" title={SESSION_ENDED}>
          You were signed out, so the last change was not saved. Sign in to go back to where you were; a form you were filling in is kept.
        </Alert>
      )}
      {params.get('reason') === 'password-changed' && (
        <Alert color="teal" variant="light" title="Password changed">
          Changing a password signs that user out everywhere, this browser too. Sign in with the new password.
        </Alert>
      )}
      {setup.data?.required === true && (
        <Alert color="blue" variant="light" title="No user exists yet">
          Open the one-time setup link printed by the server at start to create the first Administrator.
        </Alert>
      )}
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <TextInput
            label="Email"
            type="email"
            autoComplete="username"
            required
            data-autofocus
            autoFocus
            value={email}
            onChange={(event) => setEmail(event.currentTarget.value)}
            error={missing.email ?? (error instanceof ApiError ? error.fieldError('email') : undefined)}
          />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.currentTarget.value)}
            error={missing.password ?? (error instanceof ApiError ? error.fieldError('password') : undefined)}
          />
          {error !== null && !(error instanceof ApiError && error.problem.errors?.length) && (
            <ErrorAlert error={error} title={error instanceof ApiError && error.status === 401 ? 'Sign-in failed' : undefined} />
          )}
          <Button type="submit" fullWidth loading={signIn.isPending}>
            Sign in
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
