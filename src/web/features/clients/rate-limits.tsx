import { Button, Group, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useState, type FormEvent } from 'react';
import { ErrorAlert } from '../../components/error-alert';
import { SectionCard } from '../../components/section-card';
import { UnsavedChangesGuard } from '../../components/unsaved-changes-guard';
import { formErrors } from '../../lib/forms';
import type { ApiClient } from '../../lib/types';
import { rateLimitProblem, REQUESTS_PER_MINUTE_MAX, TOKENS_PER_MINUTE_MAX } from '../../../shared/limits';
import { useUpdateClient } from './clients.api';

type Field = 'rateLimit.requestsPerMinute' | 'rateLimit.tokensPerMinute';
const FIELDS: readonly Field[] = ['rateLimit.requestsPerMinute', 'rateLimit.tokensPerMinute'];

/** A limit as typed: empty is no limit; anything else must be a whole number (the range is checked as the API does). */
function parseLimit(text: string): number | null | 'invalid' {
  const trimmed = text.trim().replace(/[\s,_]/g, '');
  if (trimmed === '') return null;
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : 'invalid';
}

const shown = (value: number | null) => (value === null ? '' : String(value));

/** "600 requests and 10 tokens a minute", or "No limits". */
function summary(rateLimit: ApiClient['rateLimit']): string {
  const parts = [
    ...(rateLimit.requestsPerMinute === null ? [] : [`${rateLimit.requestsPerMinute.toLocaleString('en-US')} requests`]),
    ...(rateLimit.tokensPerMinute === null ? [] : [`${rateLimit.tokensPerMinute.toLocaleString('en-US')} token requests`]),
  ];
  return parts.length === 0 ? 'No limits' : `${parts.join(' and ')} a minute`;
}

/** "Rate limits": how many API calls and token requests the client may make a minute; empty means no limit. */
export function RateLimits({ client, disabled }: { client: ApiClient; disabled: boolean }) {
  const update = useUpdateClient(client.id);
  const stored = { requests: shown(client.rateLimit.requestsPerMinute), tokens: shown(client.rateLimit.tokensPerMinute) };
  const [form, setForm] = useState(stored);
  const [problems, setProblems] = useState<Partial<Record<Field, string>>>({});
  const [base, setBase] = useState(stored);
  if (base.requests !== stored.requests || base.tokens !== stored.tokens) {
    // Saved here or elsewhere: show what is stored now.
    setBase(stored);
    setForm(stored);
  }
  const requests = parseLimit(form.requests);
  const tokens = parseLimit(form.tokens);
  const dirty = requests !== client.rateLimit.requestsPerMinute || tokens !== client.rateLimit.tokensPerMinute;
  const errors = formErrors(problems, update.error, FIELDS);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // The API's rule (src/shared/limits.ts), said in the form's words: empty is no limit.
    const check = (value: number | null | 'invalid', max: number, label: string) =>
      value === 'invalid' || rateLimitProblem(value, max) !== null
        ? `${label} must be a whole number from 1 to ${max.toLocaleString('en-US')}; leave it empty for no limit`
        : undefined;
    const found: Partial<Record<Field, string>> = {};
    const requestsProblem = check(requests, REQUESTS_PER_MINUTE_MAX, 'Requests per minute');
    const tokensProblem = check(tokens, TOKENS_PER_MINUTE_MAX, 'Token requests per minute');
    if (requestsProblem !== undefined) found['rateLimit.requestsPerMinute'] = requestsProblem;
    if (tokensProblem !== undefined) found['rateLimit.tokensPerMinute'] = tokensProblem;
    setProblems(found);
    if (requests === 'invalid' || tokens === 'invalid' || Object.keys(found).length > 0) return;
    update.mutate(
      { rateLimit: { requestsPerMinute: requests, tokensPerMinute: tokens } },
      {
        onSuccess: (saved) =>
          notifications.show({
            color: 'teal',
            title: 'Rate limits saved',
            message: `${saved.name}: ${summary(saved.rateLimit).toLowerCase()}, from its next request on.`,
          }),
      },
    );
  };

  return (
    <SectionCard
      title="Rate limits"
      description="How much this client may ask in a minute, counted together on every server. Beyond it, calls are answered 429 until the minute is over."
    >
      {/* React Router heeds one blocker at a time (the last mounted): this one exists only while it has something to guard. */}
      {dirty && <UnsavedChangesGuard dirty={!update.isPending} what="changes to the rate limits" />}
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <Text size="sm">
            Now: <strong>{summary(client.rateLimit)}</strong>
          </Text>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label="Requests per minute"
              description="REST and GraphQL calls. Empty: no limit."
              placeholder="No limit"
              inputMode="numeric"
              disabled={disabled}
              value={form.requests}
              onChange={(event) => setForm({ ...form, requests: event.currentTarget.value })}
              error={errors.of('rateLimit.requestsPerMinute')}
            />
            <TextInput
              label="Token requests per minute"
              description="Requests to the token endpoint. Empty: no limit."
              placeholder="No limit"
              inputMode="numeric"
              disabled={disabled}
              value={form.tokens}
              onChange={(event) => setForm({ ...form, tokens: event.currentTarget.value })}
              error={errors.of('rateLimit.tokensPerMinute')}
            />
          </SimpleGrid>
          {errors.unplaced && <ErrorAlert error={update.error} />}
          <Group justify="flex-end" gap="sm">
            <Button
              variant="default"
              disabled={!dirty || update.isPending}
              onClick={() => {
                setForm(stored);
                setProblems({});
                update.reset();
              }}
            >
              Discard
            </Button>
            <Button type="submit" disabled={!dirty || disabled} loading={update.isPending}>
              Save limits
            </Button>
          </Group>
        </Stack>
      </form>
    </SectionCard>
  );
}
