import { ActionIcon, useComputedColorScheme, useMantineColorScheme } from '@mantine/core';
import { useHydrating } from '../lib/hydration';
import { IconMoon, IconSun } from './icons';
import { Hint } from './later-floating';

/** Light or dark, remembered in this browser. */
export function ThemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme('light', { getInitialValueInEffect: false });
  // The server cannot know the browser's theme: its page is named for the light one until taken over.
  const scheme = useHydrating() ? 'light' : computed;
  const label = scheme === 'dark' ? 'Use light theme' : 'Use dark theme';
  return (
    <Hint label={label} withArrow>
      <ActionIcon variant="default" size="lg" aria-label={label} onClick={() => setColorScheme(scheme === 'dark' ? 'light' : 'dark')}>
        {/* Both, hidden by the theme's attribute: right from the first paint, before any script has run. */}
        <IconSun size={18} aria-hidden className="mantine-light-hidden" />
        <IconMoon size={18} aria-hidden className="mantine-dark-hidden" />
      </ActionIcon>
    </Hint>
  );
}
