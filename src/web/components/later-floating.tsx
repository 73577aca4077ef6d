import { useMergedRef } from '@mantine/hooks';
import { cloneElement, useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactElement, type Ref, type RefObject } from 'react';
import type { TooltipProps } from '@mantine/core';
import { whenIdle } from '../lib/idle';

export type FloatingParts = typeof import('./floating');

let loaded: FloatingParts | undefined;
let loading: Promise<FloatingParts> | undefined;

const loadFloating = () => (loading ??= import('./floating').then((parts) => (loaded = parts)));

/**
 * Mantine's tooltip, menu, popover and select, once loaded: when the page is idle, or at once after
 * `now()` (a click on a menu's button before then). Until then the caller draws its target alone;
 * the target is drawn anew inside the floating part, and keeps the focus if it had it.
 */
export function useFloating(target: RefObject<HTMLElement | null>): { readonly parts: FloatingParts | undefined; readonly now: () => void } {
  const [parts, setParts] = useState(loaded);
  const refocus = useRef(false);
  const take = useCallback(
    (ready: FloatingParts) => {
      refocus.current = target.current !== null && document.activeElement === target.current;
      setParts(ready);
    },
    [target],
  );
  useEffect(() => {
    if (parts !== undefined) return;
    let live = true;
    const cancel = whenIdle(() => void loadFloating().then((ready) => live && take(ready)));
    return () => {
      live = false;
      cancel();
    };
  }, [parts, take]);
  useLayoutEffect(() => {
    if (!refocus.current) return;
    refocus.current = false;
    target.current?.focus();
  }, [parts, target]);
  const now = useCallback(() => void loadFloating().then(take), [take]);
  return { parts, now };
}

/** Mantine's Tooltip once the floating parts are loaded; until then its target alone (a hint is never needed at once). */
export function Hint({ children, ...props }: Omit<TooltipProps, 'children'> & { readonly children: ReactElement<{ ref?: Ref<HTMLElement> }> }) {
  const target = useRef<HTMLElement>(null);
  const { parts } = useFloating(target);
  const ref = useMergedRef(target, children.props.ref);
  const child = cloneElement(children, { ref });
  return parts === undefined ? child : <parts.Tooltip {...props}>{child}</parts.Tooltip>;
}
