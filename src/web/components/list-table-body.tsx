import { rem, Skeleton } from '@mantine/core';
import type { ReactNode } from 'react';
import { TABLE } from './table-classes';

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
  /** The table highlights the row under the pointer (Mantine's highlightOnHover), these rows too. */
  readonly hover?: boolean;
}

/**
 * The body of a list's table, as plain elements in Mantine's table classes (a Table.Tbody needs the
 * Table around it; the client list draws its table without Table): skeleton rows in the table's own shape until the first answer, the
 * empty state when there is nothing, the previous rows dimmed while the next view loads (the table
 * around it says aria-busy in both cases), and a failure in the rows' place, so the search and
 * filters above stay at hand to change what was asked.
 */
export function ListTableBody({
  rows,
  skeletonWidths,
  rowHeight,
  skeletonRows = 3,
  refreshing = false,
  empty,
  failure,
  children,
  hover = false,
}: ListTableBodyProps) {
  const row = { className: TABLE.tr, 'data-with-row-border': true, 'data-hover': hover || undefined };
  if (failure !== undefined) {
    return (
      <tbody className={TABLE.tbody}>
        <tr {...row}>
          <td className={TABLE.td} colSpan={skeletonWidths.length}>
            {failure}
          </td>
        </tr>
      </tbody>
    );
  }
  return (
    <tbody className={TABLE.tbody} style={{ opacity: refreshing ? 0.6 : 1, transition: 'opacity 120ms ease' }}>
      {rows === undefined &&
        Array.from({ length: skeletonRows }, (_, index) => (
          <tr key={index} {...row} style={{ height: rem(rowHeight) }} aria-hidden>
            {skeletonWidths.map((width, cell) => (
              <td key={cell} className={TABLE.td}>
                <Skeleton h={14} w={width} />
              </td>
            ))}
          </tr>
        ))}
      {rows?.length === 0 && (
        <tr {...row}>
          <td className={TABLE.td} colSpan={skeletonWidths.length}>
            {empty}
          </td>
        </tr>
      )}
      {children}
    </tbody>
  );
}
