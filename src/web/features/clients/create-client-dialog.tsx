import { Button, Group, Modal, Stack, Textarea, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { descriptionProblem, DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, nameProblem } from '../../../shared/limits';
import { ErrorAlert } from '../../components/error-alert';
import { ApiError } from '../../lib/api';
import type { ApiClientWithSecret } from '../../lib/types';
import { useCreateClient } from './clients.api';

/** The same rules as the API (shared/limits), checked before the request is sent. */
export function clientFormProblems(form: { name: string; description: string }): { name?: string; description?: string } {
  const name = nameProblem(form.name);
  const description = descriptionProblem(form.description);
  return { ...(name === null ? {} : { name: `Name ${name}` }), ...(description === null ? {} : { description: `Description ${description}` }) };
}

/** "Add API Client": Name (required) and Description, then Create. */
export function CreateClientDialog({
  opened,
  onClose,
  onCreated,
}: {
  opened: boolean;
  onClose: () => void;
  onCreated: (created: ApiClientWithSecret) => void;
}) {
  const [form, setForm] = useState({ name: '', description: '' });
  const [problems, setProblems] = useState<{ name?: string; description?: string }>({});
  const create = useCreateClient();

  const reset = () => {
    setForm({ name: '', description: '' });
    setProblems({});
    create.reset();
  };
  const cancel = () => {
    if (create.isPending) return;
    reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = clientFormProblems(form);
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    const description = form.description.trim();
    create.mutate(
      { name: form.name.trim(), ...(description === '' ? {} : { description }) },
      {
        onSuccess: (created) => {
          reset();
          onCreated(created);
        },
      },
    );
  };
  const serverError = create.error instanceof ApiError ? create.error : null;
  const fieldError = (field: 'name' | 'description') => problems[field] ?? serverError?.fieldError(field);
  const unplaced = create.error !== null && fieldError('name') === undefined && fieldError('description') === undefined;

  return (
    <Modal opened={opened} onClose={cancel} title="Add API Client" centered size="md">
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <TextInput
            label="Name"
            description={`How people will recognise it, e.g. the system that uses it (up to ${NAME_MAX_LENGTH} characters)`}
            required
            data-autofocus
            value={form.name}
            onChange={(event) => {
              const name = event.currentTarget.value;
              setForm((current) => ({ ...current, name }));
              if (problems.name !== undefined) setProblems((current) => ({ ...current, name: clientFormProblems({ name, description: '' }).name }));
            }}
            error={fieldError('name')}
          />
          <Textarea
            label="Description"
            description={
              form.description.length > DESCRIPTION_MAX_LENGTH * 0.9
                ? `${form.description.length} of ${DESCRIPTION_MAX_LENGTH} characters`
                : 'Optional: what the client is for'
            }
            autosize
            minRows={2}
            maxRows={6}
            value={form.description}
            onChange={(event) => {
              const description = event.currentTarget.value;
              setForm((current) => ({ ...current, description }));
            }}
            error={fieldError('description')}
          />
          {unplaced && <ErrorAlert error={create.error} />}
          <Group justify="flex-end">
            <Button variant="default" onClick={cancel} disabled={create.isPending}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
