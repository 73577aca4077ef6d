// @vitest-environment jsdom
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ApiClient, ClientUsage, RefusalList } from '../../lib/types';
import { renderWithProviders } from '../../test/render';
import { ClientActivity } from './client-activity';

const client = { id: '00000000-0000-4000-8000-000000000001', name: 'Nightly invoices' } as ApiClient;

/** The server's usage answer: every asked bucket, the last two with traffic. */
function usageAnswer(url: URL): ClientUsage {
  const granularity = url.searchParams.get('granularity') as 'hour' | 'day';
  const step = granularity === 'hour' ? 3_600_000 : 86_400_000;
  const buckets = [];
  for (let start = Date.parse(url.searchParams.get('from')!); start < Date.parse(url.searchParams.get('to')!); start += step)
    buckets.push({ start: new Date(start).toISOString(), tokens: 0, rest: 0, graphql: 0, refusals: {} });
  buckets.at(-2)!.tokens = 3;
  Object.assign(buckets.at(-1)!, { rest: 12, graphql: 4, refusals: { bad_secret: 2, insufficient_scope: 1 } });
  return { granularity, buckets };
}

const refusals: RefusalList = { items: [{ at: new Date().toISOString(), reason: 'bad_secret', address: '203.0.113.9' }] };

function serve() {
  const asked: URL[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string) => {
      const url = new URL(path, 'http://console.test');
      asked.push(url);
      const body = url.pathname.endsWith('/usage')
        ? usageAnswer(url)
        : url.pathname.endsWith('/refusals')
          ? refusals
          : url.pathname === '/api/v1/audit-events'
            ? { items: [], nextCursor: null }
            : null;
      return body === null
        ? new Response(JSON.stringify({ title: 'Not Found', status: 404, detail: '', code: 'not_found' }), { status: 404 })
        : new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
    }),
  );
  return asked;
}

afterEach(() => vi.unstubAllGlobals());

const figure = (label: string) => screen.getByText(label, { selector: 'p' }).nextElementSibling?.textContent;

describe('a client’s Activity tab', () => {
  it('shows the totals of the last 24 hours, the chart’s figures as a table for a screen reader, the refusals by reason and the recent ones', async () => {
    const asked = serve();
    renderWithProviders(<ClientActivity client={client} />);
    const table = await screen.findByRole('table', { name: 'Requests and refusals per hour, last 24 hours (UTC)' });
    expect(within(table).getAllByRole('row')).toHaveLength(25);
    const cells = (row: HTMLElement) =>
      within(row)
        .getAllByRole('cell')
        .map((cell) => cell.textContent);
    const rows = within(table).getAllByRole('row');
    expect(cells(rows.at(-1)!)).toEqual(['0', '12', '4', '3']);
    expect(cells(rows.at(-2)!)).toEqual(['3', '0', '0', '0']);
    expect([figure('API requests'), figure('REST requests'), figure('GraphQL requests'), figure('Tokens issued'), figure('Refusals')]).toEqual([
      '16',
      '12',
      '4',
      '3',
      '3',
    ]);

    const reasons = screen.getByRole('table', { name: 'Refusals by reason, last 24 hours' });
    expect(
      within(reasons)
        .getAllByRole('row')
        .map((row) => row.textContent),
    ).toEqual(['ReasonRefusals', 'Wrong client secret2', 'Lacks the permission for the call1']);
    const recent = await screen.findByRole('table', { name: 'Recent refusals' });
    expect(within(recent).getByText('203.0.113.9')).toBeTruthy();
    expect(within(recent).getByText('Wrong client secret')).toBeTruthy();
    expect(asked.find((url) => url.pathname.endsWith('/refusals'))?.searchParams.get('limit')).toBe('20');
  });

  it('asks for daily figures over 7 and 30 days when another range is chosen', async () => {
    const asked = serve();
    renderWithProviders(<ClientActivity client={client} />);
    await screen.findByRole('table', { name: /per hour, last 24 hours/ });
    fireEvent.click(screen.getByRole('radio', { name: '7 days' }));
    const table = await screen.findByRole('table', { name: 'Requests and refusals per day, last 7 days (UTC)' });
    expect(within(table).getAllByRole('row')).toHaveLength(8);
    const daily = asked.filter((url) => url.searchParams.get('granularity') === 'day');
    expect(daily).toHaveLength(1);
    expect(Date.parse(daily[0]!.searchParams.get('to')!) - Date.parse(daily[0]!.searchParams.get('from')!)).toBe(7 * 86_400_000);
    fireEvent.click(screen.getByRole('radio', { name: '30 days' }));
    await waitFor(() => expect(screen.getByRole('table', { name: /per day, last 30 days/ })).toBeTruthy());
  });
});
