// @vitest-environment jsdom
import { waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { FIRST_DATA_ELEMENT_ID, RENDERED_AT_ATTRIBUTE } from '../shared/console-routes';
import { PERMISSION_KEYS } from '../shared/permissions';
import { startConsole } from './app';
import { startFirstLoad } from './first-load';
import { setAnswersInPage } from './lib/api';
import type { ApiClient, ClientPage, Me, Session } from './lib/types';
import { renderConsole } from './server-render';
import './test/render';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const client = (index: number, changes: Partial<ApiClient> = {}): ApiClient => ({
  id: `0b7f3c2e-5d1a-4e8b-9c6f-${String(index).padStart(12, '0')}`,
  name: `Client ${index}`,
  description: index % 2 === 0 ? `Described ${index}` : null,
  enabled: index % 3 !== 0,
  role: index % 4 === 0 ? { id: '5b1f3c2e-5d1a-4e8b-9c6f-2a4d8e1b7c30', name: 'Viewer' } : null,
  secretHint: 'ab12',
  lastUsedAt: index % 5 === 0 ? null : new Date(NOW - index * 3_600_000).toISOString(),
  secretExpiresAt: index % 6 === 0 ? new Date(NOW + index * 86_400_000).toISOString() : null,
  previousSecret: null,
  allowedCidrs: [],
  rateLimit: { requestsPerMinute: null, tokensPerMinute: null },
  authMethod: 'client_secret',
  publicKeys: [],
  requireDpop: false,
  createdAt: new Date(NOW - index * 86_400_000).toISOString(),
  updatedAt: new Date(NOW - index * 60_000).toISOString(),
  requests7d: index * 1234,
  ...changes,
});

const session: Session = {
  user: { id: '7c1f3c2e-5d1a-4e8b-9c6f-2a4d8e1b7c30', email: 'ada@example.com', name: 'Ada' },
  csrfToken: 'csrf',
  expiresAt: '2026-12-05T12:00:00.000Z',
};
const me: Me = { type: 'user', id: session.user.id, name: 'Ada', permissions: [...PERMISSION_KEYS] };
const page: ClientPage = {
  items: [client(1, { name: '</script><b>bold</b>' }), ...Array.from({ length: 29 }, (_, index) => client(index + 2))],
  nextCursor: 'next',
  total: 75,
};
const answers = { '/api/v1/session': session, '/api/v1/me': me, '/api/v1/clients?limit=50&sort=-createdAt': page };

afterEach(() => vi.restoreAllMocks());

describe('the console’s first screen drawn on the server', () => {
  it('draws the list in its layout from the page’s answers, and nothing for another page or a missing answer', async () => {
    const html = await renderConsole({ pathname: '/system/connections', search: '', answers, now: NOW });
    expect(html).toContain('aria-label="API clients"');
    expect(html).toContain('&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;</a>');
    expect(html).toContain('>Client 2</a>');
    expect(await renderConsole({ pathname: '/users', search: '', answers, now: NOW })).toBeNull();
    expect(await renderConsole({ pathname: '/system/connections', search: '?q=x', answers, now: NOW })).toBeNull();
    const withoutMe = Object.fromEntries(Object.entries(answers).filter(([url]) => url !== '/api/v1/me'));
    expect(await renderConsole({ pathname: '/system/connections', search: '', answers: withoutMe, now: NOW })).toBeNull();
  });

  it('is taken over by the browser as drawn: no mismatch, the same elements, then the browser’s own clock', async () => {
    // Drawn a minute and a half before the browser takes it over: its relative times differ by then.
    const drawnAt = Date.now() - 90_000;
    const html = await renderConsole({ pathname: '/system/connections', search: '', answers, now: drawnAt });
    window.history.replaceState(null, '', '/system/connections');
    document.body.innerHTML = `<div id="root" ${RENDERED_AT_ATTRIBUTE}="${drawnAt}" inert aria-hidden="true">${html}</div><script type="application/json" id="${FIRST_DATA_ELEMENT_ID}"></script>`;
    const root = document.getElementById('root')!;
    const firstLink = root.querySelector('tbody a')!;
    const errors = vi.spyOn(console, 'error');
    // React reports a mismatch it recovers from by drawing anew as an error event.
    const reported: unknown[] = [];
    window.addEventListener('error', (event) => reported.push(event.error ?? event.message));
    // As the page's own script does, with the answers the page carries.
    setAnswersInPage(answers);
    const first = startFirstLoad(window.location);
    await Promise.all(first.requests.map((request) => request.answer));
    const taken = await startConsole(first);
    // Unmounted before jsdom goes: its clock and queries would otherwise run on without a window.
    onTestFinished(() => taken.unmount());
    // Slow in jsdom with React's development build, which also says what did not match.
    await waitFor(() => expect(root.hasAttribute('inert')).toBe(false), { timeout: 20_000 });
    expect(root.hasAttribute('aria-hidden')).toBe(false);
    expect(errors).not.toHaveBeenCalled();
    expect(reported).toEqual([]);
    // React adopted the server's elements rather than drawing its own.
    expect(root.contains(firstLink)).toBe(true);
    // Then the browser's clock: the exact time on hover, which the server left out.
    await waitFor(() => expect(root.querySelector('tbody time[title]')).not.toBeNull(), { timeout: 5_000 });
    expect(root.querySelector('input[aria-label="Search API clients"]')!.hasAttribute('readonly')).toBe(false);
  });
});
