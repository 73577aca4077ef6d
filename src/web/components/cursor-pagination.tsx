import { Button, Group, Skeleton, Text, TextInput } from '@mantine/core';
import { useRef, useState } from 'react';
import { IconChevronDown, IconChevronLeft, IconChevronRight } from './icons';
import { useFloating } from './later-floating';
import { PAGE_SIZES } from '../lib/list-params';

export interface CursorPaginationProps {
  /** The page the URL asks for, 1-based: Previous and Next move from it. */
  readonly page: number;
  /**
   * The page whose rows are on screen when that is not `page` yet: the previous view stays while
   * the next one loads, and the range said here must describe the rows a person sees.
   */
  readonly shownPage?: number | undefined;
  readonly pageSize: number;
  /** How many rows this page shows. */
  readonly itemCount: number;
  /** How many match in all, when the API says. */
  readonly total?: number | undefined;
  readonly hasNext: boolean;
  /** No rows yet (the first answer has not come): the range is not known, and is not said to be 0. */
  readonly loading?: boolean;
  readonly onPage: (page: number) => void;
  readonly onPageSize?: (size: number) => void;
  /** What the rows are, as in "1–10 of 12 clients"; `one` when there is only one ("1 of 1 client"). */
  readonly noun?: string | { readonly one: string; readonly other: string };
}

/**
 * The page size: Mantine's Select once its code has loaded (when the page is idle); until then an
 * input that looks the same, which loads it on a click or a key and opens its choices.
 */
function PageSizeSelect({ pageSize, onPageSize }: { readonly pageSize: number; readonly onPageSize: (size: number) => void }) {
  const target = useRef<HTMLInputElement>(null);
  const [openAtOnce, setOpenAtOnce] = useState(false);
  const { parts, now } = useFloating(target);
  const common = { ref: target, 'aria-label': 'Rows per page', size: 'xs', w: 80 } as const;
  if (parts === undefined) {
    const open = () => {
      setOpenAtOnce(true);
      now();
    };
    return (
      <TextInput
        {...common}
        readOnly
        pointer
        value={String(pageSize)}
        // As Mantine's Select says it: a popup, and no aria-expanded, which a textbox may not carry.
        aria-haspopup="listbox"
        rightSection={<IconChevronDown size={14} aria-hidden />}
        rightSectionPointerEvents="none"
        onClick={open}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' || event.key === 'ArrowUp' || event.key === 'Enter' || event.key === ' ') open();
        }}
      />
    );
  }
  return (
    <parts.Select
      {...common}
      data={PAGE_SIZES.map(String)}
      value={String(pageSize)}
      allowDeselect={false}
      defaultDropdownOpened={openAtOnce}
      onChange={(value) => value !== null && onPageSize(Number(value))}
    />
  );
}

/** Previous / Next over keyset pages, the range shown, and the page size. */
export function CursorPagination({
  page,
  shownPage,
  pageSize,
  itemCount,
  total,
  hasNext,
  loading = false,
  onPage,
  onPageSize,
  noun = 'rows',
}: CursorPaginationProps) {
  const shown = shownPage ?? page;
  const first = itemCount === 0 ? 0 : (shown - 1) * pageSize + 1;
  const last = (shown - 1) * pageSize + itemCount;
  const pages = total === undefined ? undefined : Math.max(1, Math.ceil(total / pageSize));
  const count = total ?? last;
  const rows = typeof noun === 'string' ? noun : count === 1 ? noun.one : noun.other;
  return (
    <Group justify="space-between" wrap="wrap" gap="sm" mih={36}>
      {loading ? (
        <Skeleton h={14} w={120} aria-hidden />
      ) : (
        <Text size="sm" c="dimmed" aria-live="polite">
          {itemCount === 0 && shown === 1 ? `0 ${rows}` : total === undefined ? `${first}–${last} ${rows}` : `${first}–${last} of ${total} ${rows}`}
        </Text>
      )}
      <Group gap="sm" wrap="wrap">
        {onPageSize !== undefined && <PageSizeSelect pageSize={pageSize} onPageSize={onPageSize} />}
        <Text size="sm" miw={84} ta="center">
          {pages === undefined ? `Page ${shown}` : `Page ${shown} of ${pages}`}
        </Text>
        <Button
          variant="default"
          size="xs"
          leftSection={<IconChevronLeft size={14} aria-hidden />}
          disabled={page <= 1}
          onClick={() => onPage(page - 1)}
          aria-label="Previous page"
        >
          Previous
        </Button>
        <Button
          variant="default"
          size="xs"
          rightSection={<IconChevronRight size={14} aria-hidden />}
          disabled={!hasNext}
          onClick={() => onPage(page + 1)}
          aria-label="Next page"
        >
          Next
        </Button>
      </Group>
    </Group>
  );
}
