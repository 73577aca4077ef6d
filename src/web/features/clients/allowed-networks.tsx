import { Button, Group, Stack, Text, Textarea } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useState, type FormEvent } from 'react';
import { ErrorAlert } from '../../components/error-alert';
import { SectionCard } from '../../components/section-card';
import { UnsavedChangesGuard } from '../../components/unsaved-changes-guard';
import { ApiError } from '../../lib/api';
import type { ApiClient } from '../../lib/types';
import { useUpdateClient } from './clients.api';

/** The ranges as typed, one a line; blank lines are nothing. */
const rangesOf = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);

/**
 * What the API said about the ranges, each problem with the line it is about (the API names
 * `allowedCidrs[2]`, the third range sent).
 */
function rangeProblems(failure: unknown, sent: readonly string[]): string | undefined {
  if (!(failure instanceof ApiError)) return undefined;
  const lines = (failure.problem.errors ?? []).flatMap((problem) => {
    const index = /^allowedCidrs\[(\d+)\]$/.exec(problem.field)?.[1];
    if (index !== undefined) return [`${sent[Number(index)] ?? `Line ${Number(index) + 1}`} ${problem.message}`];
    return problem.field === 'allowedCidrs' ? [`The list ${problem.message}`] : [];
  });
  return lines.length === 0 ? undefined : lines.join('; ');
}

/** "Allowed networks": where the client may call from, one CIDR range a line; empty means anywhere. */
export function AllowedNetworks({ client, disabled }: { client: ApiClient; disabled: boolean }) {
  const update = useUpdateClient(client.id);
  const stored = client.allowedCidrs.join('\n');
  const [text, setText] = useState(stored);
  const [sent, setSent] = useState<string[]>([]);
  const [base, setBase] = useState(stored);
  if (base !== stored) {
    // Saved here or elsewhere: show what is stored now.
    setBase(stored);
    setText(stored);
  }
  const dirty = rangesOf(text).join('\n') !== stored;
  const problem = rangeProblems(update.error, sent);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ranges = rangesOf(text);
    setSent(ranges);
    update.mutate(
      { allowedCidrs: ranges },
      {
        onSuccess: (saved) =>
          notifications.show({
            color: 'teal',
            title: 'Allowed networks saved',
            message:
              saved.allowedCidrs.length === 0
                ? `${saved.name} may call from anywhere.`
                : `${saved.name} may call only from ${saved.allowedCidrs.length === 1 ? 'this range' : `these ${saved.allowedCidrs.length} ranges`}, from its next request on.`,
          }),
      },
    );
  };

  return (
    <SectionCard
      title="Allowed networks"
      description="Where this client may call from. A request from anywhere else is refused, at the token endpoint and on every API call."
    >
      <UnsavedChangesGuard dirty={dirty && !update.isPending} what="changes to the allowed networks" />
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <Text size="sm">
            Now:{' '}
            {client.allowedCidrs.length === 0 ? (
              <strong>Anywhere</strong>
            ) : (
              <strong>
                {client.allowedCidrs.length} {client.allowedCidrs.length === 1 ? 'range' : 'ranges'}
              </strong>
            )}
          </Text>
          <Textarea
            label="Allowed networks"
            description="One CIDR range per line, IPv4 or IPv6 (10.0.0.0/8, 2001:db8::/32); a single address is allowed as itself. Leave empty to allow anywhere."
            placeholder="Anywhere"
            autosize
            minRows={2}
            maxRows={12}
            disabled={disabled}
            value={text}
            onChange={(event) => setText(event.currentTarget.value)}
            error={problem}
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
          />
          {update.error !== null && problem === undefined && <ErrorAlert error={update.error} />}
          <Group justify="flex-end" gap="sm">
            <Button
              variant="default"
              disabled={!dirty || update.isPending}
              onClick={() => {
                setText(stored);
                update.reset();
              }}
            >
              Discard
            </Button>
            <Button type="submit" disabled={!dirty || disabled} loading={update.isPending}>
              Save networks
            </Button>
          </Group>
        </Stack>
      </form>
    </SectionCard>
  );
}
