/**
 * The console's pages, in one list for both sides: the console's router gives each a
 * page (src/web/routes/router.tsx), and the server answers each with index.html so that a page can
 * be loaded or reloaded at its own address (src/server/http/console.ts). Any other path stays the
 * API's, with its own 404.
 */
export const CONSOLE_PATHS = [
  '/',
  '/login',
  '/setup',
  '/system',
  '/system/overview',
  '/system/connections',
  '/system/connections/:id',
  '/users',
  '/users/:id',
  '/roles',
  '/roles/:id',
  '/audit',
] as const;

export type ConsolePath = (typeof CONSOLE_PATHS)[number];

/** The pages a visitor reaches without a session; every other one signs them in first. */
export const PUBLIC_CONSOLE_PATHS = ['/login', '/setup'] as const satisfies readonly ConsolePath[];

/** Where the console opens on its API client list (the router sends `/` and `/system` there). */
export const FIRST_LIST_PATHS = ['/', '/system', '/system/connections'] as const satisfies readonly ConsolePath[];

/**
 * The id of the JSON script element in which the server hands a signed-in browser the first
 * screen's API answers, keyed by the URL the console would ask them at.
 */
export const FIRST_DATA_ELEMENT_ID = 'koios-first-data';

/** What the server asks of the console's server half (src/web/server-render.tsx) to draw a page. */
export interface ConsoleRenderRequest {
  /** The page's address. */
  readonly pathname: string;
  /** Its query string, `?` included, or ''. */
  readonly search: string;
  /** The API's answers the page carries, by the URL the console asks them at. */
  readonly answers: Readonly<Record<string, unknown>>;
  /** The server's clock: the page's relative times count from it, in the browser too while it takes the page over. */
  readonly now: number;
}

/** The HTML of the console's root for a page, or null where the browser draws it alone. */
export type RenderConsole = (request: ConsoleRenderRequest) => Promise<string | null>;

/** The attribute of the page's root element carrying ConsoleRenderRequest's `now`, in milliseconds. */
export const RENDERED_AT_ATTRIBUTE = 'data-rendered-at';
