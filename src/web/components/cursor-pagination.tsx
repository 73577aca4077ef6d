import { Button, Group, Select, Text } from '@mantine/core';
import { IconChevronLeft, IconChevronRight } from './icons';
import { PAGE_SIZES } from '../lib/list-params';

export interface CursorPaginationProps {
  /** 1-based. */
  readonly page: number;
  readonly pageSize: number;
  /** How many rows this page shows. */
  readonly itemCount: number;
  /** How many match in all, when the API says. */
  readonly total?: number | undefined;
  readonly hasNext: boolean;
  readonly onPage: (page: number) => void;
  readonly onPageSize?: (size: number) => void;
  readonly noun?: string;
}

/** Previous / Next over keyset pages, the range shown, and the page size. */
export function CursorPagination({ page, pageSize, itemCount, total, hasNext, onPage, onPageSize, noun = 'rows' }: CursorPaginationProps) {
  const first = itemCount === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = (page - 1) * pageSize + itemCount;
  const pages = total === undefined ? undefined : Math.max(1, Math.ceil(total / pageSize));
  return (
    <Group justify="space-between" wrap="wrap" gap="sm" mih={36}>
      <Text size="sm" c="dimmed" aria-live="polite">
        {itemCount === 0 && page === 1 ? `0 ${noun}` : total === undefined ? `${first}–${last} ${noun}` : `${first}–${last} of ${total} ${noun}`}
      </Text>
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
          {pages === undefined ? `Page ${page}` : `Page ${page} of ${pages}`}
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
