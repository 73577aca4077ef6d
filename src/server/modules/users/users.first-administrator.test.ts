import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../actor.js';
import type { Services } from '../../services.js';
import { createTestDatabase, createTestServices, testDialects, type TestDatabase } from '../../../../test/support/databases.js';

describe.each(testDialects())('the first Administrator from the environment on %s', (dialect) => {
  let database: TestDatabase;
  const instances: Services[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    // Four servers starting together on one empty database, each with the same KOIOS_ADMIN_ values.
    for (let n = 0; n < 4; n++) instances.push(await createTestServices(database));
  });
  afterAll(async () => {
    for (const services of instances) await services.stop();
    await database.drop();
  });

  it('is created exactly once when several instances start together, and none of them fails', async () => {
    const admin = { email: 'first@example.com', password: 'correct horse battery staple' };
    const results = await Promise.allSettled(
      instances.flatMap((services) => [services.users.ensureFirstAdministrator(admin), services.users.ensureFirstAdministrator(admin)]),
    );
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    const created = results.flatMap((result) => (result.status === 'fulfilled' && result.value !== null ? [result.value] : []));
    expect(created).toHaveLength(1);
    expect(created[0]!.email).toBe(admin.email);
    const users = await instances[0]!.users.list(SYSTEM_ACTOR, {});
    expect(users.items.map((user) => user.email)).toEqual([admin.email]);
    expect(users.items[0]!.roles.map((role) => role.name)).toEqual(['Administrator']);
  });
});
