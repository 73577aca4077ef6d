// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, onUnauthorized, setCsrfToken } from './api';

function answer(status: number, body?: unknown, type = 'application/json') {
  return vi.fn(async (_url: string, _init: RequestInit) =>
    body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } }),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrfToken(null);
});

describe('the console’s API wrapper', () => {
  it('sends the session cookie, and the CSRF token on every change but never on a read', async () => {
    const fetch = answer(200, { ok: true });
    vi.stubGlobal('fetch', fetch);
    setCsrfToken('csrf-123');
    await api.get('/api/v1/clients', { q: 'billing', cursor: null, status: undefined });
    await api.post('/api/v1/clients', { name: 'Billing' });
    await api.patch('/api/v1/clients/1', { enabled: false });
    await api.delete('/api/v1/clients/1');
    const [read, ...changes] = fetch.mock.calls;
    expect(read![0]).toBe('/api/v1/clients?q=billing');
    expect(read![1].credentials).toBe('same-origin');
    expect((read![1].headers as Record<string, string>)['X-CSRF-Token']).toBeUndefined();
    for (const [, init] of changes) {
      expect((init.headers as Record<string, string>)['X-CSRF-Token']).toBe('csrf-123');
      expect(init.credentials).toBe('same-origin');
    }
    expect(changes[0]![1].body).toBe('{"name":"Billing"}');
  });

  it('turns a problem body into an ApiError that names the bad fields', async () => {
    vi.stubGlobal(
      'fetch',
      answer(
        400,
        {
          type: 'x',
          title: 'Bad input',
          status: 400,
          detail: 'name must NOT have fewer than 1 characters',
          code: 'bad_input',
          errors: [{ field: 'name', message: 'is required' }],
        },
        'application/problem+json',
      ),
    );
    const error = await api.post('/api/v1/clients', { name: '' }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).fieldError('name')).toBe('is required');
    expect((error as ApiError).fieldError('description')).toBeUndefined();
  });

  it('sends the person to sign in when the session has ended, but not for a failed sign-in', async () => {
    const handler = vi.fn();
    onUnauthorized(handler);
    vi.stubGlobal('fetch', answer(401, { title: 'Authentication required', status: 401, detail: 'no session', code: 'unauthenticated' }));
    await expect(api.get('/api/v1/clients')).rejects.toBeInstanceOf(ApiError);
    expect(handler).toHaveBeenCalledTimes(1);
    await expect(api.post('/api/v1/session', { email: 'a', password: 'b' })).rejects.toBeInstanceOf(ApiError);
    await expect(api.get('/api/v1/session')).rejects.toBeInstanceOf(ApiError);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('reports a network failure and a non-JSON error page as problems too', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        throw new TypeError('Failed to fetch');
      }),
    );
    expect(((await api.get('/api/v1/clients').catch((failure: unknown) => failure)) as ApiError).problem.code).toBe('network');
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })),
    );
    const error = (await api.get('/api/v1/clients').catch((failure: unknown) => failure)) as ApiError;
    expect(error.status).toBe(502);
    expect(error.message).toBe('the server answered 502');
  });

  it('answers undefined for 204 No Content', async () => {
    vi.stubGlobal('fetch', answer(204));
    expect(await api.delete('/api/v1/clients/1')).toBeUndefined();
  });
});
