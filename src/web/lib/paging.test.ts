import { describe, expect, it, vi } from 'vitest';
import { CursorStack } from './paging';

/** A keyset-paged list of `count` rows, `size` a page, whose cursor is the last row's number. */
function list(count: number, size: number) {
  const rows = Array.from({ length: count }, (_, index) => index + 1);
  return vi.fn(async (cursor: string | null) => {
    const start = cursor === null ? 0 : rows.indexOf(Number(cursor)) + 1;
    const items = rows.slice(start, start + size);
    return { items, nextCursor: start + size < rows.length ? String(items.at(-1)) : null };
  });
}

describe('the cursor stack behind numbered pages', () => {
  it('reaches a page from a shared URL by walking forward once, then goes back with one request', async () => {
    const stack = new CursorStack();
    const fetchPage = list(10, 3);
    const third = await stack.resolve('clients', 3, fetchPage);
    expect(third).toEqual({ page: 3, data: { items: [7, 8, 9], nextCursor: '9' } });
    expect(fetchPage.mock.calls.map(([cursor]) => cursor)).toEqual([null, '3', '6']);

    fetchPage.mockClear();
    const second = await stack.resolve('clients', 2, fetchPage);
    expect(second.data.items).toEqual([4, 5, 6]);
    expect(fetchPage.mock.calls).toEqual([['3']]);
    expect(stack.cursorFor('clients', 4)).toBe('9');
  });

  it('learns where the second page starts from a first page fetched before the list was shown', async () => {
    const stack = new CursorStack();
    stack.remember('clients', 1, '3');
    const fetchPage = list(10, 3);
    expect((await stack.resolve('clients', 2, fetchPage)).data.items).toEqual([4, 5, 6]);
    expect(fetchPage.mock.calls).toEqual([['3']]);
  });

  it('keeps one stack per list, so another filter or sort starts from the first page', async () => {
    const stack = new CursorStack();
    await stack.resolve('clients?sort=name', 2, list(10, 3));
    expect(stack.cursorFor('clients?sort=name', 2)).toBe('3');
    expect(stack.cursorFor('clients?sort=-createdAt', 2)).toBeUndefined();
  });

  it('shows the last page when asked for one past the end', async () => {
    const stack = new CursorStack();
    const page = await stack.resolve('clients', 9, list(7, 3));
    expect(page).toEqual({ page: 3, data: { items: [7], nextCursor: null } });
  });

  it('steps back a page when every row of the asked page was deleted', async () => {
    const stack = new CursorStack();
    const rows = list(7, 3);
    await stack.resolve('clients', 3, rows);
    const empty = vi.fn(async (cursor: string | null) => (cursor === '6' ? { items: [], nextCursor: null } : rows(cursor)));
    const page = await stack.resolve('clients', 3, empty);
    expect(page.page).toBe(2);
    expect(page.data.items).toEqual([4, 5, 6]);
  });
});
