/**
 * All that Mantine's AppShell takes from react-remove-scroll: the class names by which a modal's
 * scroll lock keeps fixed bars from shifting. The vite config gives the AppShell this module, so
 * the first screen does not carry the scroll lock itself (about 5 KB gzipped), which only a modal
 * or drawer needs. The names are react-remove-scroll's own (checked by the test beside this file).
 */
export const RemoveScroll = {
  classNames: { fullWidth: 'width-before-scroll-bar', zeroRight: 'right-scroll-bar-position' },
} as const;
