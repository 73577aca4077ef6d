import { Button, Group, Select, Skeleton, Text } from '@mantine/core';
import { IconChevronLeft, IconChevronRight } from './icons';
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
        {onPageSize !== undefined && (
          <Select
            aria-label="Rows per page"
            size="xs"
            w={80}
            data={PAGE_SIZES.map(String)}
            value={String(pageSize)}
            allowDeselect={false}
            onChange={(value) => value !== null && onPageSize(Number(value))}
          />
        )}
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
