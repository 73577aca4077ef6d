import { Skeleton, Table } from '@mantine/core';
import type { ReactNode } from 'react';

export interface ListTableBodyProps {
  /** The rows of the view on screen; undefined until the first answer. */
  readonly rows: readonly unknown[] | undefined;
  /** The width of each column's skeleton line, one per column: they keep the table's shape while it loads. */
  readonly skeletonWidths: readonly number[];
  /** Rows keep this height loaded or not, so nothing jumps when the data arrives. */
  readonly rowHeight: number;
  readonly skeletonRows?: number;
  /** The rows shown are the previous view's while the next one loads (a new sort, filter or page). */
  readonly refreshing?: boolean;
  /** What an empty list means and what to do about it. */
  readonly empty: ReactNode;
  /** Why the list could not be loaded (an ErrorAlert with Try again), shown where its rows would be. */
  readonly failure?: ReactNode;
  readonly children: ReactNode;
}

/**
 * The body of a list's table: skeleton rows in the table's own shape until the first answer, the
 * empty state when there is nothing, the previous rows dimmed while the next view loads (the table
 * around it says aria-busy in both cases), and a failure in the rows' place, so the search and
 * filters above stay at hand to change what was asked.
 */
export function ListTableBody({ rows, skeletonWidths, rowHeight, skeletonRows = 3, refreshing = false, empty, failure, children }: ListTableBodyProps) {
  if (failure !== undefined) {
    return (
      <Table.Tbody>
        <Table.Tr>
          <Table.Td colSpan={skeletonWidths.length}>{failure}</Table.Td>
        </Table.Tr>
      </Table.Tbody>
    );
  }
  return (
    <Table.Tbody style={{ opacity: refreshing ? 0.6 : 1, transition: 'opacity 120ms ease' }}>
      {rows === undefined &&
        Array.from({ length: skeletonRows }, (_, row) => (
          <Table.Tr key={row} h={rowHeight} aria-hidden>
            {skeletonWidths.map((width, cell) => (
              <Table.Td key={cell}>
                <Skeleton h={14} w={width} />
              </Table.Td>
            ))}
          </Table.Tr>
        ))}
      {rows?.length === 0 && (
        <Table.Tr>
          <Table.Td colSpan={skeletonWidths.length}>{empty}</Table.Td>
        </Table.Tr>
      )}
      {children}
    </Table.Tbody>
  );
}
