/**
 * Mantine's floating parts. They bring floating-ui, portals, transitions and focus traps (about a
 * quarter of the first screen's library code), which nothing needs before a pointer or a key
 * reaches them: the first screen loads them when it is idle (src/web/components/later-floating.tsx).
 */
export { Menu, Popover, Select, Tooltip } from '@mantine/core';
/** Drawn only inside one of them (the client list's filters). */
export { NativeSelect, SegmentedControl } from '@mantine/core';
