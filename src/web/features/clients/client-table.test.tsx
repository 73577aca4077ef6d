// @vitest-environment jsdom
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '../../lib/types';
import { renderWithProviders } from '../../test/render';
import { ClientTable, type ClientTableProps } from './client-table';

function client(index: number, enabled = true): ApiClient {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    name: `Client ${index}`,
    description: null,
    enabled,
    role: null,
    secretHint: 'ab12',
    secretExpiresAt: null,
    previousSecret: null,
    lastUsedAt: null,
    requests7d: index * 10,
    allowedCidrs: [],
    rateLimit: { requestsPerMinute: null, tokensPerMinute: null },
    authMethod: 'client_secret',
    publicKeys: [],
    requireDpop: false,
    createdAt: new Date(Date.now() - index * 60_000).toISOString(),
    updatedAt: new Date().toISOString(),
  };
}

const page = [client(1), client(2, false), client(3)];

function renderTable(props: Partial<ClientTableProps> = {}) {
  const onBulk = vi.fn<ClientTableProps['onBulk']>().mockResolvedValue(undefined);
  const onPage = vi.fn();
  const onSort = vi.fn();
  const all: ClientTableProps = {
    clients: page,
    selectionKey: 'page-1',
    sort: '-createdAt',
    onSort,
    onOpen: vi.fn(),
    onBulk,
    pagination: { page: 1, pageSize: 3, total: 7, hasNext: true, onPage },
    ...props,
  };
  const view = renderWithProviders(<ClientTable {...all} />);
  return { ...view, onBulk, onPage, onSort, props: all, table: screen.getByRole('table', { name: 'API clients' }) };
}

const selectAll = () => screen.getByRole('checkbox', { name: 'Select all clients on this page' }) as HTMLInputElement;
const rowBox = (name: string) => screen.getByRole('checkbox', { name: `Select ${name}` }) as HTMLInputElement;
const actions = () => screen.getByRole('button', { name: 'Actions' }) as HTMLButtonElement;

describe('the API client table', () => {
  it('has the columns of the product description', () => {
    const { table } = renderTable();
    const headers = within(table)
      .getAllByRole('columnheader')
      .map((header) => header.textContent);
    expect(headers.slice(1)).toEqual(['Status', 'Name', 'Role', 'Client ID', 'Requests (7 days)', 'Last Used', 'Created']);
    const cells = within(within(table).getByText('Client 3').closest('tr')!).getAllByRole('cell');
    expect(cells[5]!.textContent).toBe('30');
  });

  it('marks a name that reads as a Latin name it is not as a look-alike, naming the character, and leaves the others unmarked', () => {
    const lookalike = { ...client(4), name: '\u0410dmin' };
    const { table } = renderTable({ clients: [client(1), lookalike] });
    const row = within(table).getByText('\u0410dmin').closest('tr')!;
    expect(within(row).getByText('Look-alike')).toBeTruthy();
    expect(row.textContent).toContain('(U+0410) looks like “A”');
    expect(within(within(table).getByText('Client 1').closest('tr')!).queryByText('Look-alike')).toBeNull();
  });

  it('sets disabled clients apart by a tinted row, never by opacity', () => {
    const { table } = renderTable();
    const disabled = within(table).getByText('Client 2').closest('tr')!;
    expect(within(disabled).getByText('Disabled')).toBeTruthy();
    expect(disabled.className).toContain('koios-row-disabled');
    expect(disabled.style.opacity).toBe('');
    expect(within(table).getByText('Client 1').closest('tr')!.className).not.toContain('koios-row-disabled');
  });

  it('selects every row of the page with select-all, and clears them with it again', () => {
    renderTable();
    expect(actions().disabled).toBe(true);
    fireEvent.click(selectAll());
    expect(page.every((c) => rowBox(c.name).checked)).toBe(true);
    expect(screen.getByText('3 selected')).toBeTruthy();
    expect(actions().disabled).toBe(false);
    fireEvent.click(selectAll());
    expect(page.some((c) => rowBox(c.name).checked)).toBe(false);
    expect(actions().disabled).toBe(true);
  });

  it('shows select-all as indeterminate when only some rows are selected', () => {
    renderTable();
    fireEvent.click(rowBox('Client 2'));
    expect(selectAll().indeterminate).toBe(true);
    expect(selectAll().checked).toBe(false);
    fireEvent.click(rowBox('Client 1'));
    fireEvent.click(rowBox('Client 3'));
    expect(selectAll().indeterminate).toBe(false);
    expect(selectAll().checked).toBe(true);
  });

  it('enables and disables the selected clients from the Actions menu, then clears the selection', async () => {
    const { onBulk } = renderTable();
    fireEvent.click(rowBox('Client 1'));
    fireEvent.click(rowBox('Client 3'));
    fireEvent.click(actions());
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Disable' }));
    await waitFor(() => expect(onBulk).toHaveBeenCalledWith('disable', [page[0]!.id, page[2]!.id]));
    await waitFor(() => expect(rowBox('Client 1').checked).toBe(false));

    fireEvent.click(rowBox('Client 2'));
    fireEvent.click(actions());
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Enable' }));
    await waitFor(() => expect(onBulk).toHaveBeenLastCalledWith('enable', [page[1]!.id]));
  });

  it('asks before deleting and says how many', async () => {
    const { onBulk } = renderTable();
    fireEvent.click(selectAll());
    fireEvent.click(actions());
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete 3 API clients?' });
    expect(onBulk).not.toHaveBeenCalled();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(onBulk).not.toHaveBeenCalled();
    expect(rowBox('Client 1').checked).toBe(true);

    fireEvent.click(actions());
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Delete' }));
    fireEvent.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Delete 3 API clients' }));
    await waitFor(() =>
      expect(onBulk).toHaveBeenCalledWith(
        'delete',
        page.map((c) => c.id),
      ),
    );
  });

  it('keeps the selection and shows the error in the dialog when the delete fails', async () => {
    const onBulk = vi.fn<ClientTableProps['onBulk']>().mockRejectedValue(new Error('the database is unavailable; try again shortly'));
    renderTable({ onBulk });
    fireEvent.click(rowBox('Client 1'));
    fireEvent.click(actions());
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete 1 API client?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete 1 API client' }));
    expect(await within(dialog).findByText(/database is unavailable/)).toBeTruthy();
    expect(rowBox('Client 1').checked).toBe(true);
  });

  it('clears the selection on another page', () => {
    const { rerender, props } = renderTable();
    fireEvent.click(selectAll());
    rerender(<ClientTable {...props} selectionKey="page-2" clients={[client(4), client(5)]} />);
    expect(selectAll().checked).toBe(false);
    expect(screen.queryByText(/selected/)).toBeNull();
  });

  it('pages forward and back, and says which rows it shows', () => {
    const { onPage, rerender, props } = renderTable();
    expect(screen.getByText('1–3 of 7 clients')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Previous page' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(onPage).toHaveBeenCalledWith(2);

    rerender(<ClientTable {...props} clients={[client(7)]} pagination={{ ...props.pagination, page: 3, hasNext: false }} />);
    expect(screen.getByText('7–7 of 7 clients')).toBeTruthy();
    expect(screen.getByText('Page 3 of 3')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Next page' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Previous page' }));
    expect(onPage).toHaveBeenLastCalledWith(2);
  });

  it('keeps the previous rows dimmed and says it is busy while the next view loads, the range describing the rows shown', () => {
    const { rerender, props } = renderTable({ pagination: { page: 3, pageSize: 3, total: 7, hasNext: false, onPage: vi.fn() }, clients: [client(7)] });
    expect(screen.getByText('7–7 of 7 clients')).toBeTruthy();
    expect(screen.getByRole('table', { name: 'API clients' }).getAttribute('aria-busy')).toBe('false');
    // A new sort asks for page 1; until it answers, page 3's row is what a person sees.
    rerender(<ClientTable {...props} refreshing pagination={{ ...props.pagination, page: 1, shownPage: 3 }} />);
    expect(screen.getByRole('table', { name: 'API clients' }).getAttribute('aria-busy')).toBe('true');
    expect(screen.getByText('Client 7')).toBeTruthy();
    expect(screen.getByText('7–7 of 7 clients')).toBeTruthy();
    expect(screen.getByText('Page 3 of 3')).toBeTruthy();
    rerender(<ClientTable {...props} clients={page} pagination={{ ...props.pagination, page: 1, shownPage: 1, hasNext: true }} />);
    expect(screen.getByRole('table', { name: 'API clients' }).getAttribute('aria-busy')).toBe('false');
    expect(screen.getByText('1–3 of 7 clients')).toBeTruthy();
  });

  it('shows why the clients could not be loaded in place of the rows, keeping the toolbar and saying no count', () => {
    renderTable({ clients: undefined, failure: <p role="alert">The API clients could not be loaded</p>, toolbar: <input aria-label="Search API clients" /> });
    const table = screen.getByRole('table', { name: 'API clients' });
    expect(within(table).getByRole('alert').textContent).toBe('The API clients could not be loaded');
    expect(table.getAttribute('aria-busy')).toBe('false');
    expect(screen.getByRole('textbox', { name: 'Search API clients' })).toBeTruthy();
    expect(screen.queryByText(/clients?$/)).toBeNull();
  });

  it('says “client” for one and “clients” otherwise', () => {
    const { rerender, props } = renderTable({ clients: [client(1)], pagination: { page: 1, pageSize: 3, total: 1, hasNext: false, onPage: vi.fn() } });
    expect(screen.getByText('1–1 of 1 client')).toBeTruthy();
    rerender(<ClientTable {...props} clients={[]} pagination={{ ...props.pagination, total: 0 }} />);
    expect(screen.getByText('0 clients')).toBeTruthy();
  });

  it('sorts by a column: names A→Z first, times newest first, requests most first, a second click reverses', () => {
    const { onSort, rerender, props } = renderTable();
    const created = screen.getByRole('columnheader', { name: 'Created' });
    expect(created.getAttribute('aria-sort')).toBe('descending');
    fireEvent.click(within(created).getByRole('button'));
    expect(onSort).toHaveBeenLastCalledWith('createdAt');
    fireEvent.click(within(screen.getByRole('columnheader', { name: 'Name' })).getByRole('button'));
    expect(onSort).toHaveBeenLastCalledWith('name');
    fireEvent.click(within(screen.getByRole('columnheader', { name: 'Last Used' })).getByRole('button'));
    expect(onSort).toHaveBeenLastCalledWith('-lastUsedAt');
    fireEvent.click(within(screen.getByRole('columnheader', { name: 'Requests (7 days)' })).getByRole('button'));
    expect(onSort).toHaveBeenLastCalledWith('-requests7d');
    rerender(<ClientTable {...props} sort="-requests7d" />);
    expect(screen.getByRole('columnheader', { name: 'Requests (7 days)' }).getAttribute('aria-sort')).toBe('descending');
    fireEvent.click(within(screen.getByRole('columnheader', { name: 'Requests (7 days)' })).getByRole('button'));
    expect(onSort).toHaveBeenLastCalledWith('requests7d');
    rerender(<ClientTable {...props} sort="name" />);
    expect(screen.getByRole('columnheader', { name: 'Name' }).getAttribute('aria-sort')).toBe('ascending');
    fireEvent.click(within(screen.getByRole('columnheader', { name: 'Name' })).getByRole('button'));
    expect(onSort).toHaveBeenLastCalledWith('-name');
  });

  it('opens a client from its row, but not from its checkbox or copy button', () => {
    const { props } = renderTable();
    fireEvent.click(screen.getByText('Client 3').closest('tr')!.querySelectorAll('td')[4]!);
    expect(props.onOpen).toHaveBeenCalledWith(page[2]);
    fireEvent.click(rowBox('Client 1'));
    fireEvent.click(screen.getByRole('button', { name: 'Copy client ID of Client 1' }));
    expect(props.onOpen).toHaveBeenCalledTimes(1);
  });

  it('shows skeleton rows while loading and the empty state for an empty page', () => {
    const { rerender, props } = renderTable({ clients: undefined, pagination: { page: 1, pageSize: 3, hasNext: false, loading: true, onPage: vi.fn() } });
    expect(screen.getByRole('table', { name: 'API clients' }).getAttribute('aria-busy')).toBe('true');
    expect(selectAll().disabled).toBe(true);
    // Nothing is known yet: the range is not said to be "0 clients".
    expect(screen.queryByText(/\d+ clients?$/)).toBeNull();
    rerender(<ClientTable {...props} clients={[]} empty={<p>No API clients yet</p>} />);
    expect(screen.getByText('No API clients yet')).toBeTruthy();
  });
});
