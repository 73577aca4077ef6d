import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { SYSTEM_ACTOR, type Actor } from '../../src/server/actor.js';
import { BadInput, NotFound } from '../../src/server/errors.js';

/** The error a promise rejects with (the test fails when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('expected a rejection'),
    (error: unknown) => error,
  );
}

/** A service's methods that find a record by id. */
interface ById<Patch> {
  get(actor: Actor, id: string): Promise<unknown>;
  update(actor: Actor, id: string, patch: Patch): Promise<unknown>;
  delete(actor: Actor, id: string): Promise<unknown>;
}

/** An unknown id is NotFound for get, update and delete; a malformed one (`malformed`) is BadInput. */
export async function expectIdsChecked<Patch>(service: ById<Patch>, patch: Patch, malformed: string): Promise<void> {
  const unknown = randomUUID();
  await expect(service.get(SYSTEM_ACTOR, unknown)).rejects.toBeInstanceOf(NotFound);
  await expect(service.update(SYSTEM_ACTOR, unknown, patch)).rejects.toBeInstanceOf(NotFound);
  await expect(service.delete(SYSTEM_ACTOR, unknown)).rejects.toBeInstanceOf(NotFound);
  await expect(service.get(SYSTEM_ACTOR, malformed)).rejects.toBeInstanceOf(BadInput);
  await expect(service.delete(SYSTEM_ACTOR, malformed)).rejects.toBeInstanceOf(BadInput);
}
