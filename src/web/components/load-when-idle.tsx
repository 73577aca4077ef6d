import { lazy, Suspense, useEffect, useState, type ComponentType } from 'react';
import { whenIdle } from '../lib/idle';

/**
 * A component whose code is not part of the page's first load (a dialog, the notifications): it
 * loads once the page is drawn and idle, then stays mounted as if it had been there from the start,
 * or at once when `neededNow` (a dialog opened before that).
 */
export function loadWhenIdle<P extends object>(load: () => Promise<ComponentType<P>>, neededNow: (props: P) => boolean = () => false): ComponentType<P> {
  const Component = lazy(async () => ({ default: await load() }));
  return function LoadedWhenIdle(props: P) {
    const [wanted, setWanted] = useState(false);
    if (!wanted && neededNow(props)) setWanted(true);
    useEffect(() => whenIdle(() => setWanted(true)), []);
    return wanted ? (
      <Suspense fallback={null}>
        <Component {...props} />
      </Suspense>
    ) : null;
  };
}
