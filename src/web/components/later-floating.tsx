import type { TooltipProps } from '@mantine/core';
import { cloneElement, useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactElement, type RefObject } from 'react';
import { whenIdle } from '../lib/idle';

export type FloatingParts = typeof import('./floating');

let loaded: FloatingParts | undefined;
let loading: Promise<FloatingParts> | undefined;

const loadFloating = () => (loading ??= import('./floating').then((parts) => (loaded = parts)));

/**
 * Mantine's tooltip, menu, popover and select, for a control drawn before their code had loaded:
 * the code is fetched when the page is idle, and the control is drawn anew inside its floating part
 * only when it is first used (`now()`, on a click), never meanwhile, so that nothing a pointer or a
 * test is about to reach is replaced under it. Drawn anew, the control keeps the focus.
 */
export function useFloating(target: RefObject<HTMLElement | null>): { readonly parts: FloatingParts | undefined; readonly now: () => void } {
  const [parts, setParts] = useState(loaded);
  const refocus = useRef(false);
  useEffect(() => (loaded === undefined ? whenIdle(() => void loadFloating()) : undefined), []);
  useLayoutEffect(() => {
    if (!refocus.current) return;
    refocus.current = false;
    target.current?.focus();
  }, [parts, target]);
  const now = useCallback(
    () =>
      void loadFloating().then((ready) => {
        refocus.current = target.current !== null && document.activeElement === target.current;
        setParts(ready);
      }),
    [target],
  );
  return { parts, now };
}

/**
 * A menu whose code may not have loaded yet: `trigger` goes on its button until then (a click
 * loads the menu and opens it at once), and `openAtOnce` on the Menu drawn afterwards.
 */
export function useLaterMenu(target: RefObject<HTMLElement | null>) {
  const [openAtOnce, setOpenAtOnce] = useState(false);
  const { parts, now } = useFloating(target);
  const trigger =
    parts === undefined
      ? {
          'aria-haspopup': 'menu' as const,
          'aria-expanded': false,
          onClick: () => {
            setOpenAtOnce(true);
            now();
          },
        }
      : undefined;
  return { parts, openAtOnce, trigger };
}

/**
 * Mantine's Tooltip when its code had loaded by the time `children` was drawn; otherwise the
 * browser's own tooltip (a title), since a hint is not worth drawing its control anew.
 */
export function Hint({ children, label, disabled, ...props }: Omit<TooltipProps, 'children'> & { readonly children: ReactElement<{ title?: string }> }) {
  const [parts] = useState(loaded);
  useEffect(() => (loaded === undefined ? whenIdle(() => void loadFloating()) : undefined), []);
  if (parts !== undefined)
    return (
      <parts.Tooltip label={label} disabled={disabled} {...props}>
        {children}
      </parts.Tooltip>
    );
  return disabled === true || typeof label !== 'string' ? children : cloneElement(children, { title: label });
}
