import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { requireHoldsAll, requirePermission, type Actor } from '../../actor.js';
import type { ChangeFeed } from '../../changes.js';
import type { Clock } from '../../clock.js';
import type { Database, FederatedCredentialsTable } from '../../db/schema.js';
import type { Executor } from '../../db/database.js';
import { Conflict, NotFound, ProblemCollector } from '../../errors.js';
import { checkId, findByIdOrThrow } from '../../ids.js';
import { nameProblem, normalizeName } from '../../../shared/limits.js';
import type { FederatedCredential } from '../../../shared/schemas/federated-credentials.js';
import { recordAudit } from '../audit/audit.service.js';
import { createClientsRepository } from '../clients/clients.repository.js';
import type { LastUsedRecorder } from '../clients/last-used.js';
import { createRolesRepository } from '../roles/roles.repository.js';
import { permissionsOfRole } from '../roles/permissions.js';
import { createFederationRepository } from './federation.repository.js';
import { issuerProblem, type FederationSettings } from './issuer-url.js';

export interface AddFederatedCredentialInput {
  readonly name: string;
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly conditions?: Readonly<Record<string, string>> | null;
}

export const FEDERATED_CREDENTIALS_MAX = 20;
export const FEDERATION_TEXT_MAX_LENGTH = 400;
export const FEDERATION_CONDITIONS_MAX = 10;
const CLAIM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Conditions on these would only repeat (or fight) the checks every token gets. */
const CHECKED_CLAIMS = new Set(['iss', 'aud', 'sub', 'exp', 'nbf', 'iat']);

const textProblem = (value: unknown): string | null =>
  typeof value !== 'string' || value.trim() === ''
    ? 'is required and must be a string'
    : value.length > FEDERATION_TEXT_MAX_LENGTH
      ? `must be at most ${FEDERATION_TEXT_MAX_LENGTH} characters`
      : value !== value.trim()
        ? 'must not start or end with spaces'
        : null;

/** A subject is matched exactly, or as a prefix when it ends in `*`; a lone `*` would let any workload of the issuer in. */
function subjectProblem(subject: unknown): string | null {
  const problem = textProblem(subject);
  if (problem !== null) return problem;
  const text = subject as string;
  if (text.slice(0, -1).includes('*')) return 'may hold * only as its last character (a prefix match)';
  if (text === '*') return 'must name at least the start of a subject; * alone would match every workload of the issuer';
  return null;
}

function checkConditions(conditions: unknown, problems: ProblemCollector): Record<string, string> {
  if (conditions === undefined || conditions === null) return {};
  if (typeof conditions !== 'object' || Array.isArray(conditions)) {
    problems.add('conditions', 'must be an object of claim name to exact value');
    return {};
  }
  const entries = Object.entries(conditions as Record<string, unknown>);
  if (entries.length > FEDERATION_CONDITIONS_MAX) problems.add('conditions', `may hold at most ${FEDERATION_CONDITIONS_MAX} claims`);
  for (const [claim, value] of entries) {
    if (!CLAIM_NAME.test(claim)) problems.add(`conditions.${claim.slice(0, 64)}`, 'must be a claim name of letters, digits and _ . : -');
    else if (CHECKED_CLAIMS.has(claim)) problems.add(`conditions.${claim}`, 'is checked already (issuer, audience, subject and times); use those fields');
    else
      problems.add(
        `conditions.${claim}`,
        typeof value === 'string' && value.length > 0
          ? value.length > FEDERATION_TEXT_MAX_LENGTH
            ? `must be at most ${FEDERATION_TEXT_MAX_LENGTH} characters`
            : null
          : 'must be a non-empty string',
      );
  }
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as Record<string, string>;
}

export interface FederationServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly changes: ChangeFeed;
  readonly settings: FederationSettings;
  /** Each credential's last exchange, written coalesced. */
  readonly lastUsed: LastUsedRecorder;
}

/**
 * Workload identity federation's rules per client: list, add, remove. Adding or removing one is a
 * change to the client (the cached client state holds its rules), so it applies to the next token
 * exchange on every instance, and removing one kills the tokens minted through it.
 */
export function createFederationService(deps: FederationServiceDeps) {
  const { db, clock, changes, settings, lastUsed } = deps;

  const toCredential = (row: FederatedCredentialsTable): FederatedCredential => ({
    id: row.id,
    name: row.name,
    issuer: row.issuer,
    audience: row.audience,
    subject: row.subject,
    conditions: JSON.parse(row.conditions) as Record<string, string>,
    createdAt: row.created_at,
    lastUsedAt: lastUsed.latest(row.id, row.last_used_at),
  });

  const findClient = (executor: Executor, id: string) => findByIdOrThrow((key) => createClientsRepository(executor).findById(key), id, 'API client');

  /** Whoever may exchange a token for the client's holds its role, as whoever holds its secret does. */
  async function requireHoldsClientRole(executor: Executor, actor: Actor, roleId: string | null): Promise<void> {
    if (roleId === null) return;
    const role = await createRolesRepository(executor).findById(roleId);
    if (role !== undefined) requireHoldsAll(actor, permissionsOfRole(role), `the client's role ${role.name}`);
  }

  return {
    async list(actor: Actor, clientId: string): Promise<FederatedCredential[]> {
      requirePermission(actor, 'clients:read');
      const client = await findClient(db, clientId);
      return (await createFederationRepository(db).listOf(client.id)).map(toCredential);
    },

    /** The batch form of `list`, for a page of clients (GraphQL's loader): one query whatever the number of ids; unknown ids get null. */
    async listOfMany(actor: Actor, clientIds: readonly string[]): Promise<(FederatedCredential[] | null)[]> {
      requirePermission(actor, 'clients:read');
      clientIds.forEach((id) => checkId(id));
      const wanted = [...new Set(clientIds.map((id) => id.toLowerCase()))];
      const known = new Set((await createClientsRepository(db).findByIds(wanted)).map((row) => row.id));
      const rows = await createFederationRepository(db).listOfMany(wanted);
      return clientIds.map((id) => {
        const key = id.toLowerCase();
        return known.has(key) ? rows.filter((row) => row.client_id === key).map(toCredential) : null;
      });
    },

    async add(actor: Actor, clientId: string, input: AddFederatedCredentialInput): Promise<FederatedCredential> {
      requirePermission(actor, 'clients:secrets');
      const problems = new ProblemCollector();
      problems.add('name', typeof input.name === 'string' ? nameProblem(input.name) : 'is required and must be a string');
      problems.add('issuer', textProblem(input.issuer) ?? issuerProblem(input.issuer, settings));
      problems.add('audience', textProblem(input.audience));
      problems.add('subject', subjectProblem(input.subject));
      const conditions = checkConditions(input.conditions, problems);
      problems.throwIfAny();
      const name = normalizeName(input.name);
      const row: FederatedCredentialsTable = {
        id: randomUUID(),
        client_id: '',
        name,
        name_key: name.toLowerCase(),
        issuer: input.issuer,
        audience: input.audience,
        subject: input.subject,
        conditions: JSON.stringify(conditions),
        created_at: clock.now().toISOString(),
        last_used_at: null,
      };
      await changes.transaction(async (trx, recordChange) => {
        const client = await findClient(trx, clientId);
        await requireHoldsClientRole(trx, actor, client.role_id);
        const repository = createFederationRepository(trx);
        if ((await repository.findByName(client.id, row.name_key)) !== undefined)
          throw new Conflict(`the client already has a federated credential named "${name}"`);
        if ((await repository.listOf(client.id)).length >= FEDERATED_CREDENTIALS_MAX)
          throw new Conflict(`a client may have at most ${FEDERATED_CREDENTIALS_MAX} federated credentials`);
        await repository.insert({ ...row, client_id: client.id });
        await recordAudit(trx, clock, actor, [
          {
            action: 'client.federated_credential_added',
            target: { type: 'client', id: client.id, name: client.name },
            details: { id: row.id, name, issuer: row.issuer, audience: row.audience, subject: row.subject, conditions },
          },
        ]);
        recordChange({ kind: 'client', id: client.id });
      });
      return toCredential(row);
    },

    /** Its tokens stop working on their next request, on every instance. */
    async remove(actor: Actor, clientId: string, credentialId: string): Promise<void> {
      requirePermission(actor, 'clients:secrets');
      const id = checkId(credentialId, 'fcId');
      await changes.transaction(async (trx, recordChange) => {
        const client = await findClient(trx, clientId);
        await requireHoldsClientRole(trx, actor, client.role_id);
        const repository = createFederationRepository(trx);
        const existing = await repository.find(client.id, id);
        if (existing === undefined) throw new NotFound('federated credential', credentialId);
        await repository.delete(client.id, id);
        await recordAudit(trx, clock, actor, [
          {
            action: 'client.federated_credential_removed',
            target: { type: 'client', id: client.id, name: client.name },
            details: { id, name: existing.name, issuer: existing.issuer, subject: existing.subject },
          },
        ]);
        recordChange({ kind: 'client', id: client.id });
      });
      lastUsed.forget(id);
    },
  };
}

export type FederationService = ReturnType<typeof createFederationService>;
