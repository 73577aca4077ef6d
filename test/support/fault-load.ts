import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import type { Services } from '../../src/server/services.js';
import type { ClientCredentials } from './oauth.js';
import { seedDatabase } from './seeded-server.js';

/**
 * What fault tests and `npm run chaos` share: an Administrator client made straight in the
 * database, tokens, and callers that record every answer a server gave while it was hurt.
 */
export type { ClientCredentials };

/** An API client with the Administrator role and a plain one, made through `services`, named `<label> operator` and `<label> target`. */
export async function createOperatorAndTarget(services: Services, label: string): Promise<{ administrator: ClientCredentials; target: ClientCredentials }> {
  const administratorRole = (await services.roles.list(SYSTEM_ACTOR)).find((role) => role.name === 'Administrator')!;
  const administrator = await services.clients.create(SYSTEM_ACTOR, { name: `${label} operator`, roleId: administratorRole.id });
  const target = await services.clients.create(SYSTEM_ACTOR, { name: `${label} target` });
  return {
    administrator: { id: administrator.client.id, secret: administrator.clientSecret },
    target: { id: target.client.id, secret: target.clientSecret },
  };
}

/**
 * Migrates the PostgreSQL database at `url` and creates an API client with the Administrator role
 * (and a plain one), under a random master key; `env` is what a server process needs to serve it.
 */
export async function seedClients(url: string): Promise<{ administrator: ClientCredentials; plain: ClientCredentials; env: Record<string, string> }> {
  const { env, seeded } = await seedDatabase({ dialect: 'postgres', url }, (services) => createOperatorAndTarget(services, 'fault'));
  return { administrator: seeded.administrator, plain: seeded.target, env };
}

/** One answer as the caller saw it: a status, or `error` when the connection itself failed. */
export interface Answer {
  readonly status: number | 'error';
  /** When the request was sent and answered (ms, performance.now()). */
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly contentType: string | null;
  /** The problem body's `code`, or the OAuth `error`, when there is one. */
  readonly code: string | null;
}

export async function call(url: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<Answer> {
  const sentAt = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const contentType = response.headers.get('content-type');
    const text = await response.text();
    let code: string | null = null;
    if (contentType?.includes('json') === true && text.length > 0) {
      const body = JSON.parse(text) as { code?: string; error?: string };
      code = body.code ?? body.error ?? null;
    }
    return { status: response.status, sentAt, answeredAt: performance.now(), contentType, code };
  } catch {
    return { status: 'error', sentAt, answeredAt: performance.now(), contentType: null, code: null };
  }
}

/** Runs `concurrency` loops of `request` until `stop()`; returns every answer. */
export function load(concurrency: number, request: () => Promise<Answer>): { answers: Answer[]; stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) answers.push(await request());
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** Calls `request` until it answers `status`; the time from the call to that answer, or null past `limitMs`. */
export async function timeUntil(status: number, request: () => Promise<Answer>, limitMs = 30_000): Promise<number | null> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    const answer = await request();
    if (answer.status === status) return answer.answeredAt - start;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function countByStatus(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[String(answer.status)] = (counts[String(answer.status)] ?? 0) + 1;
  return counts;
}

/** Creates a plain client through the REST API of `serverUrl`. */
export async function createClientThrough(serverUrl: string, administratorToken: string, name: string): Promise<ClientCredentials> {
  const response = await fetch(`${serverUrl}/api/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${administratorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (response.status !== 201) throw new Error(`creating a client answered ${response.status}: ${await response.text()}`);
  const created = (await response.json()) as { client: { id: string }; clientSecret: string };
  return { id: created.client.id, secret: created.clientSecret };
}

/** Enables or disables a client through the REST API of `serverUrl`; throws unless it answered 200. */
export async function setEnabledThrough(serverUrl: string, administratorToken: string, clientId: string, enabled: boolean): Promise<void> {
  const response = await fetch(`${serverUrl}/api/v1/clients/${clientId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${administratorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ enabled }),
  });
  if (response.status !== 200) throw new Error(`PATCH enabled=${enabled} answered ${response.status}: ${await response.text()}`);
}

/** `GET /api/v1/me` with a bearer token: what every Koios API call costs the gate. */
export const me = (serverUrl: string, token: string): Promise<Answer> => call(`${serverUrl}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
