import { SYSTEM_ACTOR } from '../../src/server/actor.js';
import type { Role } from '../../src/server/modules/roles/roles.service.js';
import { startTestServer, type TestServer } from '../../test/support/server.js';
import { ensureConsoleBuilt } from './console-build.js';

export interface ConsoleServer {
  readonly server: TestServer;
  readonly url: string;
  readonly admin: { readonly email: string; readonly password: string; readonly name: string };
  readonly roles: { readonly administrator: Role; readonly viewer: Role };
  close(): Promise<void>;
}

/**
 * The real server on loopback (SQLite), serving the built console, with one Administrator to sign
 * in as; with `firstRun`, with no user at all (`admin` then names nobody).
 */
export async function startConsoleServer(options: { readonly firstRun?: boolean } = {}): Promise<ConsoleServer> {
  await ensureConsoleBuilt();
  const server = await startTestServer('sqlite');
  const roles = await server.services.roles.list(SYSTEM_ACTOR);
  const administrator = roles.find((role) => role.name === 'Administrator')!;
  const viewer = roles.find((role) => role.name === 'Viewer')!;
  const admin = { email: 'ada@koios.test', password: 'correct horse battery staple', name: 'Ada Lovelace' };
  if (options.firstRun !== true) await server.services.users.create(SYSTEM_ACTOR, { ...admin, roleIds: [administrator.id] });
  return { server, url: server.url, admin, roles: { administrator, viewer }, close: () => server.close() };
}

/** A name long enough to test what the list and the detail header do with it. */
export const LONG_CLIENT_NAME = 'Quarterly revenue reconciliation export for the finance data warehouse (EU region)';

/**
 * A list worth looking at: a long-named client with a role that has authenticated (its id is
 * returned), a disabled one, and three plain ones.
 */
export async function seedClientList(console_: ConsoleServer): Promise<{ longId: string }> {
  const { clients } = console_.server.services;
  const viewer = console_.roles.viewer.id;
  const long = await clients.create(SYSTEM_ACTOR, { name: LONG_CLIENT_NAME, description: 'Runs at the end of each quarter', roleId: viewer });
  await requestToken(console_.url, long.client.id, long.clientSecret);
  const off = await clients.create(SYSTEM_ACTOR, { name: 'Legacy importer', roleId: viewer });
  await clients.update(SYSTEM_ACTOR, off.client.id, { enabled: false });
  for (const name of ['Billing export', 'Warehouse sync', 'Reporting']) await clients.create(SYSTEM_ACTOR, { name });
  return { longId: long.client.id };
}

/** The client credentials grant (client_secret_post), as an external system would use it. */
export async function requestToken(url: string, clientId: string, clientSecret: string): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
  });
}

/** A call to the REST API with a client's access token. */
export async function callApi(url: string, path: string, accessToken: string): Promise<Response> {
  return fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${accessToken}` } });
}

/** Signs in through the console's own form and waits for the page `next` leads to. */
export async function signIn(page: import('playwright-core').Page, console_: ConsoleServer, next = '/system/connections'): Promise<void> {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(console_.admin.email);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(console_.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname + url.search === next);
}
