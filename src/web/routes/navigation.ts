import { UNSAFE_createBrowserHistory, type Location, type Path } from 'react-router';

/**
 * The console's browser history: react-router's own, with a way to hold a navigation until the
 * person answers (the unsaved-edits question). The declarative router has no blocker of its own,
 * and the data router that has one is about 20 KB more for the first screen.
 */
export type ConsoleHistory = ReturnType<typeof UNSAFE_createBrowserHistory>;
type Update = Parameters<Parameters<ConsoleHistory['listen']>[0]>[0];

/** Whether leaving `from` for `to` waits for an answer. */
export type Hold = (from: Location, to: Path) => boolean;

/** A navigation held until the person answers; `by` is the hold that stopped it. */
export interface HeldNavigation {
  readonly by: symbol;
  readonly proceed: () => void;
  readonly reset: () => void;
}

const holds = new Map<symbol, Hold>();
let held: HeldNavigation | undefined;
const watchers = new Set<() => void>();

function setHeld(next: HeldNavigation | undefined): void {
  held = next;
  for (const watcher of watchers) watcher();
}

/** Until the returned function is called, `hold` may stop a navigation (in-app, Back and Forward). */
export function holdNavigation(by: symbol, hold: Hold): () => void {
  holds.set(by, hold);
  return () => {
    holds.delete(by);
    if (held?.by === by) setHeld(undefined);
  };
}

/** The navigation waiting for an answer, for useSyncExternalStore. */
export const heldNavigation = {
  subscribe(watcher: () => void): () => void {
    watchers.add(watcher);
    return () => void watchers.delete(watcher);
  },
  current: (): HeldNavigation | undefined => held,
};

/** The hold that stops this navigation: the last one set, as react-router's own blocker does. */
function holder(from: Location, to: Path): symbol | undefined {
  let by: symbol | undefined;
  for (const [key, hold] of holds) if (hold(from, to)) by = key;
  return by;
}

function createConsoleHistory(): ConsoleHistory {
  // v5Compat: a push or replace tells the listener too, as <BrowserRouter> has it.
  const base = UNSAFE_createBrowserHistory({ v5Compat: true });
  let current = base.location;
  let listener: ((update: Update) => void) | null = null;
  /** Back or Forward undone by us (the browser has already moved): its own popstate is not news. */
  let undoing = false;
  /** Back or Forward let through after the question. */
  let letThrough = false;

  const guarded = (to: Path, go: () => void) => {
    const by = holder(current, to);
    if (by === undefined) {
      // A navigation nothing holds (sign-in after the session ended) drops any question left open.
      if (held !== undefined) setHeld(undefined);
      return go();
    }
    setHeld({ by, proceed: () => (setHeld(undefined), go()), reset: () => setHeld(undefined) });
  };

  base.listen((update) => {
    if (update.action === 'POP') {
      if (undoing) return void (undoing = false);
      const { delta } = update;
      const by = letThrough || delta === null || delta === 0 ? undefined : holder(current, update.location);
      letThrough = false;
      if (by !== undefined && delta !== null) {
        // The address has already changed: go back to where the form is, then ask.
        undoing = true;
        base.go(-delta);
        const proceed = () => {
          setHeld(undefined);
          letThrough = true;
          base.go(delta);
        };
        return setHeld({ by, proceed, reset: () => setHeld(undefined) });
      }
    }
    current = update.location;
    listener?.(update);
  });

  return {
    get action() {
      return base.action;
    },
    get location() {
      return base.location;
    },
    createHref: (to) => base.createHref(to),
    createURL: (to) => base.createURL(to),
    encodeLocation: (to) => base.encodeLocation(to),
    push: (to, state) => guarded(base.encodeLocation(to), () => base.push(to, state)),
    replace: (to, state) => guarded(base.encodeLocation(to), () => base.replace(to, state)),
    go: (delta) => base.go(delta),
    listen(next) {
      listener = next;
      return () => {
        if (listener === next) listener = null;
      };
    },
  };
}

let history: ConsoleHistory | undefined;

/** The one history of the page, made on first use (not on import: tests import the routes without a window). */
export function consoleHistory(): ConsoleHistory {
  return (history ??= createConsoleHistory());
}
