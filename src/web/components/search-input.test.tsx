// @vitest-environment jsdom
import { act, fireEvent, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SEARCH_MAX_LENGTH } from '../../shared/limits';
import { renderWithProviders } from '../test/render';
import { SearchInput } from './search-input';

/** The box with its `q` held as a list page holds it in the URL. */
function Harness({ initial = '', onSearch }: { initial?: string; onSearch: (q: string) => void }) {
  const [q, setQ] = useState(initial);
  return (
    <>
      <SearchInput
        label="Search users"
        placeholder="Search names or emails"
        q={q}
        onSearch={(next) => {
          onSearch(next);
          setQ(next);
        }}
      />
      <button onClick={() => setQ('')}>Show every user</button>
    </>
  );
}

const box = () => screen.getByRole('textbox', { name: 'Search users' }) as HTMLInputElement;

afterEach(() => vi.useRealTimers());

describe('a list’s search box', () => {
  it('searches when typing pauses, not at each key', () => {
    vi.useFakeTimers();
    const onSearch = vi.fn();
    renderWithProviders(<Harness onSearch={onSearch} />);
    fireEvent.change(box(), { target: { value: 'gr' } });
    fireEvent.change(box(), { target: { value: 'grace' } });
    expect(onSearch).not.toHaveBeenCalled();
    act(() => vi.advanceTimersByTime(300));
    expect(onSearch).toHaveBeenCalledTimes(1);
    expect(onSearch).toHaveBeenCalledWith('grace');
  });

  it('empties the box and the search at once with Escape or Clear search', () => {
    const onSearch = vi.fn();
    renderWithProviders(<Harness initial="grace" onSearch={onSearch} />);
    expect(box().value).toBe('grace');
    fireEvent.keyDown(box(), { key: 'Escape' });
    expect(box().value).toBe('');
    expect(onSearch).toHaveBeenLastCalledWith('');

    fireEvent.change(box(), { target: { value: 'ada' } });
    fireEvent.click(screen.getByRole('button', { name: 'Clear search' }));
    expect(box().value).toBe('');
    expect(screen.queryByRole('button', { name: 'Clear search' })).toBeNull();
  });

  it('follows a search changed elsewhere (Back, a link, an empty state’s button)', () => {
    renderWithProviders(<Harness initial="nobody" onSearch={vi.fn()} />);
    fireEvent.click(screen.getByRole('button', { name: 'Show every user' }));
    expect(box().value).toBe('');
  });

  it('stops at the longest search the API accepts', () => {
    renderWithProviders(<Harness onSearch={vi.fn()} />);
    expect(box().maxLength).toBe(SEARCH_MAX_LENGTH);
  });
});
