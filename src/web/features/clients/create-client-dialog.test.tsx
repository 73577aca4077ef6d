// @vitest-environment jsdom
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithProviders } from '../../test/render';
import { CreateClientDialog } from './create-client-dialog';

const DAY_MS = 86_400_000;

/** The server: the create request answers `created`; everything else (session, roles) is not found. */
function serve(created: { status: number; body: unknown }) {
  const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
    const answer =
      init.method === 'POST' && url === '/api/v1/clients' ? created : { status: 404, body: { title: 'Not Found', status: 404, detail: '', code: 'not_found' } };
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { sent: () => JSON.parse(String(fetchMock.mock.calls.find(([, init]) => init.method === 'POST')?.[1].body)) as Record<string, unknown> };
}

function open() {
  const onCreated = vi.fn();
  renderWithProviders(<CreateClientDialog opened onClose={vi.fn()} onCreated={onCreated} />);
  const dialog = screen.getByRole('dialog', { name: 'Add API Client' });
  fireEvent.change(within(dialog).getByRole('textbox', { name: /Name/ }), { target: { value: 'Billing export' } });
  return { dialog, onCreated, expiry: within(dialog).getByRole('combobox', { name: 'Secret expires' }) };
}

afterEach(() => vi.unstubAllGlobals());

describe('the create dialog’s secret expiry', () => {
  it('asks for no expiry by default, and for the chosen number of days ahead once one is picked', async () => {
    const server = serve({ status: 201, body: { client: { id: 'c1' }, clientSecret: 'koios_cs_x' } });
    const { dialog, expiry, onCreated } = open();
    expect(expiry).toHaveProperty('value', '');
    expect(within(expiry).getByRole('option', { selected: true }).textContent).toBe('Never (or the installation’s maximum)');
    fireEvent.change(expiry, { target: { value: '30' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    const asked = Date.parse(String(server.sent().secretExpiresAt));
    expect(Math.abs(asked - (Date.now() + 30 * DAY_MS))).toBeLessThan(DAY_MS);
  });

  it('sends no secretExpiresAt when the secret should never expire', async () => {
    const server = serve({ status: 201, body: { client: { id: 'c1' }, clientSecret: 'koios_cs_x' } });
    const { dialog, onCreated } = open();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    expect(server.sent()).toEqual({ name: 'Billing export' });
  });

  it('shows the server’s problem with secretExpiresAt under the Secret expires field', async () => {
    const message = "must be within 90 days: the installation's maximum secret lifetime";
    serve({
      status: 400,
      body: { title: 'Bad Request', status: 400, detail: 'The request is not valid', code: 'bad_input', errors: [{ field: 'secretExpiresAt', message }] },
    });
    const { dialog, expiry } = open();
    fireEvent.change(expiry, { target: { value: '365' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await within(dialog).findByText(message);
    expect(expiry.getAttribute('aria-invalid')).toBe('true');
    expect(expiry.getAttribute('aria-describedby')).toContain(within(dialog).getByText(message).id);
  });
});
