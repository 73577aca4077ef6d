import { CloseButton, TextInput } from '@mantine/core';
import { SEARCH_MAX_LENGTH } from '../../shared/limits';
import { useHydrating } from '../lib/hydration';
import { useSearchBox } from '../lib/list-params';
import { IconSearch } from './icons';

export interface SearchInputProps {
  /** The box's accessible name: what it searches ("Search API clients"). */
  readonly label: string;
  readonly placeholder: string;
  /** The search in the URL now. */
  readonly q: string;
  /** Puts a new search in the URL, when typing pauses or the box is cleared. */
  readonly onSearch: (q: string) => void;
  readonly w?: number | { readonly base?: number | string; readonly xs?: number | string; readonly sm?: number | string };
  readonly maw?: number;
}

/**
 * A list's search box, bound to `q` in the URL: it answers each key at once and the list follows
 * when typing pauses; a `q` changed elsewhere (Back, a shared link, a "clear" button) refills it.
 * Clear search, or Escape in the box, empties it at once.
 */
export function SearchInput({ label, placeholder, q, onSearch, w, maw }: SearchInputProps) {
  const [text, setText] = useSearchBox(q, onSearch);
  // On the server's page, typed text would be lost when React takes it over: it is typed afterwards.
  const hydrating = useHydrating();
  const clear = () => {
    setText('');
    if (q !== '') onSearch('');
  };
  return (
    <TextInput
      aria-label={label}
      placeholder={placeholder}
      leftSection={<IconSearch size={16} aria-hidden />}
      rightSection={text !== '' ? <CloseButton aria-label="Clear search" size="sm" onClick={clear} /> : null}
      value={text}
      readOnly={hydrating}
      // The API refuses a longer search; the box stops there instead.
      maxLength={SEARCH_MAX_LENGTH}
      onChange={(event) => setText(event.currentTarget.value)}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && text !== '') {
          // Escape clears the box; a second one is left to whatever holds it (a dialog, a menu).
          event.stopPropagation();
          clear();
        }
      }}
      w={w}
      maw={maw}
    />
  );
}
