import { createTheme, darken, toRgba, type CSSVariablesResolver } from '@mantine/core';
import type { AnchorProps, CheckboxProps, MenuProps, ModalProps, NotificationProps } from '@mantine/core';

/** WCAG 2 relative luminance of a colour Mantine can parse. */
function luminance(color: string): number {
  const { r, g, b } = toRgba(color);
  const [lr, lg, lb] = [r, g, b].map((value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lr! + 0.7152 * lg! + 0.0722 * lb!;
}

function contrast(a: string, b: string): number {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (high! + 0.05) / (low! + 0.05);
}

/** `color` at `opacity` over white, as the light variants' backgrounds are drawn. */
function overWhite(color: string, opacity: number): string {
  const { r, g, b } = toRgba(color);
  const mix = (value: number) => Math.round(value * opacity + 255 * (1 - opacity));
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

/** AA asks 4.5:1 for body text; a little above it, so rounding never lands below. */
const AA = 4.6;

/**
 * The first of a palette's shades 6 to 9 that reads at AA against `background(shade)`; when none
 * does (the greens, yellows and oranges), shade 9 darkened until it does.
 */
function readable(shades: readonly string[], background: (shade: string) => string): string {
  for (const shade of shades.slice(6)) if (contrast(shade, background(shade)) >= AA) return shade;
  const darkest = shades[9]!;
  let color = darkest;
  for (let amount = 0.05; contrast(color, background(color)) < AA && amount < 1; amount += 0.05) color = darken(darkest, amount);
  return color;
}

/**
 * Mantine's light theme draws filled buttons, light badges, outlines, links and the active
 * navigation with shade 6, which is below AA contrast for text in every palette (indigo 4.3:1,
 * red 2.9:1 on its tint): in the light theme each palette's text and fills use the first shade
 * that reads at AA. The dark theme's defaults already do.
 */
const cssVariablesResolver: CSSVariablesResolver = (theme) => {
  const light: Record<string, string> = {};
  for (const [name, shades] of Object.entries(theme.colors)) {
    if (name === 'dark') continue;
    const tint = overWhite(shades[6]!, 0.1);
    const text = readable(shades, () => tint);
    const filled = readable(shades, () => '#ffffff');
    light[`--mantine-color-${name}-filled`] = filled;
    light[`--mantine-color-${name}-filled-hover`] = darken(filled, 0.1);
    light[`--mantine-color-${name}-light`] = tint;
    light[`--mantine-color-${name}-light-color`] = text;
    light[`--mantine-color-${name}-outline`] = text;
    light[`--mantine-color-${name}-text`] = text;
  }
  light['--mantine-color-anchor'] = light[`--mantine-color-${theme.primaryColor}-text`]!;
  light['--mantine-color-error'] = light['--mantine-color-red-text']!;
  // Mantine's dark error red (shade 8) reads at 3.4:1 on the dark page.
  return { variables: {}, light, dark: { '--mantine-color-error': 'var(--mantine-color-red-4)' } };
};

export const theme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'md',
  cursorType: 'pointer',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
  headings: { fontWeight: '650' },
  // Default props as plain objects, not `Menu.extend(…)`: that would load every component named
  // here (the dialogs, the menus) with the theme, in the first screen's code.
  components: {
    // A link inside a sentence must not be told apart by its colour alone (WCAG 1.4.1).
    Anchor: { defaultProps: { underline: 'always' } satisfies Partial<AnchorProps> },
    // Mantine's menus put a focusable placeholder among the items, which a menu may not contain.
    Menu: { defaultProps: { withInitialFocusPlaceholder: false } satisfies Partial<MenuProps> },
    // Square boxes read as checkboxes; the round default reads as radios in a table.
    Checkbox: { defaultProps: { radius: 'sm' } satisfies Partial<CheckboxProps> },
    // Mantine's close buttons of dialogs and notifications have no name of their own: a screen
    // reader would say just "button".
    Modal: { defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } satisfies Partial<ModalProps> },
    Notification: { defaultProps: { closeButtonProps: { 'aria-label': 'Dismiss notification' } } satisfies Partial<NotificationProps> },
  },
});

export { cssVariablesResolver };
