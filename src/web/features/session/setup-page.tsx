import { Alert, Anchor, Button, PasswordInput, Skeleton, Stack, TextInput } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { nameProblem, PASSWORD_MIN_LENGTH } from '../../../shared/limits';
import { ErrorAlert } from '../../components/error-alert';
import { api, ApiError } from '../../lib/api';
import type { Session } from '../../lib/types';
import { AuthCard } from './auth-card';
import { useAcceptSession } from './session';

/** `/setup?token=…`: the first Administrator, with the one-time link printed at start. */
export function SetupPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const navigate = useNavigate();
  const accept = useAcceptSession();
  const setup = useQuery({ queryKey: ['setup'], queryFn: () => api.get<{ required: boolean }>('/api/v1/setup'), retry: false });
  const [form, setForm] = useState({ email: '', name: '', password: '', confirm: '' });
  const [problems, setProblems] = useState<Partial<Record<keyof typeof form, string>>>({});

  const create = useMutation({
    mutationFn: () =>
      api.post<Session>('/api/v1/setup', {
        token,
        email: form.email.trim(),
        password: form.password,
        ...(form.name.trim() === '' ? {} : { name: form.name.trim() }),
      }),
    onSuccess: (session) => {
      accept(session);
      void navigate('/system/connections', { replace: true });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: typeof problems = {};
    if (form.email.trim() === '') found.email = 'Enter an email address';
    if (form.name.trim() !== '') {
      const problem = nameProblem(form.name);
      if (problem !== null) found.name = `Name ${problem}`;
    }
    if (form.password.length < PASSWORD_MIN_LENGTH) found.password = `Use at least ${PASSWORD_MIN_LENGTH} characters`;
    if (form.confirm !== form.password) found.confirm = 'The passwords do not match';
    setProblems(found);
    if (Object.keys(found).length === 0) create.mutate();
  };
  const field = (key: keyof typeof form) => ({
    value: form[key],
    onChange: (event: { currentTarget: HTMLInputElement }) => {
      // Read the value now: the updater runs after React has let go of the event.
      const value = event.currentTarget.value;
      setForm((current) => ({ ...current, [key]: value }));
    },
    error: problems[key] ?? (create.error instanceof ApiError ? create.error.fieldError(key) : undefined),
  });

  if (setup.isPending) {
    return (
      <AuthCard title="Set up Koios Access">
        <Skeleton h={240} />
      </AuthCard>
    );
  }
  if (setup.data?.required === false) {
    return (
      <AuthCard title="Setup is complete">
        <Alert color="teal" variant="light">
          The first Administrator exists, so this link no longer works.{' '}
          <Anchor component={Link} to="/login">
            Sign in
          </Anchor>{' '}
          instead.
        </Alert>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Set up Koios Access" description="Create the first Administrator. The setup link stops working once this account exists.">
      {token === '' && (
        <Alert color="yellow" variant="light" title="The setup token is missing">
          Open the whole link printed by the server at start: it ends in <code>?token=…</code>.
        </Alert>
      )}
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <TextInput label="Email" type="email" autoComplete="username" required autoFocus {...field('email')} />
          <TextInput label="Name" autoComplete="name" description="Optional; shown in the audit log" {...field('name')} />
          <PasswordInput
            label="Password"
            autoComplete="new-password"
            required
            description={`At least ${PASSWORD_MIN_LENGTH} characters`}
            {...field('password')}
          />
          <PasswordInput label="Confirm password" autoComplete="new-password" required {...field('confirm')} />
          {create.error !== null && !(create.error instanceof ApiError && create.error.problem.errors?.length) && <ErrorAlert error={create.error} />}
          <Button type="submit" fullWidth loading={create.isPending} disabled={token === ''}>
            Create Administrator
          </Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
