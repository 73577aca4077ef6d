import { TableTr } from '@mantine/core';

/**
 * Mantine's table classes (borders, hover, spacing) for plain table elements. Read from a part of
 * the table: Table itself carries its scroll container, and with it ScrollArea and floating-ui,
 * into the code of every screen that draws one.
 */
const { classes } = TableTr;

const part = (component: string, selector: string) => `mantine-${component}-${selector} ${classes[selector] ?? ''}`;

export const TABLE = {
  table: part('Table', 'table'),
  thead: part('Table', 'thead'),
  tbody: part('Table', 'tbody'),
  tr: part('Table', 'tr'),
  th: part('Table', 'th'),
  td: part('Table', 'td'),
  scrollContainer: part('TableScrollContainer', 'scrollContainer'),
  scrollContainerInner: part('TableScrollContainer', 'scrollContainerInner'),
} as const;
