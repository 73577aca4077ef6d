import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import type { ManualChunkMeta } from 'rollup';
import { defineConfig, type Plugin, type ProxyOptions } from 'vite';

/**
 * Writes `name.br` and `name.gz` beside every built text asset, once at build time, so that the
 * server sends them as they are (Content-Encoding) instead of compressing on each request.
 */
function precompress(): Plugin {
  let outDir = '';
  const files = (directory: string): string[] =>
    readdirSync(directory).flatMap((name) => {
      const path = join(directory, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
  return {
    name: 'koios-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      for (const path of files(outDir).filter((file) => /\.(js|css|svg|json|txt)$/.test(file))) {
        const content = readFileSync(path);
        if (content.length < 1024) continue;
        writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
      }
    },
  };
}

const WEB = fileURLToPath(new URL('./src/web/', import.meta.url));

/**
 * Mantine's AppShell imports react-remove-scroll only for two class names: it is given them alone
 * (src/web/lib/scroll-bar-classes.ts), and the scroll lock stays with the modals that use it.
 */
const SCROLL_BAR_CLASSES = join(WEB, 'lib/scroll-bar-classes.ts');
function appShellWithoutScrollLock(): Plugin {
  return {
    name: 'koios-app-shell-scroll-classes',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === 'react-remove-scroll' && importer !== undefined && /\/@mantine\/core\/esm\/components\/AppShell\//.test(importer))
        return SCROLL_BAR_CLASSES;
      return undefined;
    },
  };
}

/** The first screen: the API client list the console opens on, in its layout. */
const FIRST_SCREENS = ['app.tsx', 'routes/layout.tsx', 'features/clients/clients-page.tsx'].map((path) => join(WEB, path));

/**
 * `<link rel="modulepreload">` in index.html for every chunk the first screen runs (the chunks
 * holding its modules, and what those import): the browser fetches and compiles them while it
 * still fetches the entry, instead of after the entry has run and asked for them.
 */
function preloadFirstScreen(): Plugin {
  return {
    name: 'koios-preload-first-screen',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, { bundle }) {
        if (bundle === undefined) return [];
        const chunks = Object.values(bundle).filter((output) => output.type === 'chunk');
        const wanted = new Set<string>();
        const add = (fileName: string) => {
          // The entry's script is in the page already.
          if (wanted.has(fileName) || html.includes(`"/${fileName}"`)) return;
          wanted.add(fileName);
          for (const imported of chunks.find((chunk) => chunk.fileName === fileName)?.imports ?? []) add(imported);
        };
        for (const chunk of chunks) if (chunk.moduleIds.some((id) => FIRST_SCREENS.includes(id))) add(chunk.fileName);
        if (wanted.size === 0) throw new Error('koios-preload-first-screen: no chunk holds the first screen’s modules');
        return [...wanted].sort().map((fileName) => ({
          tag: 'link',
          attrs: { rel: 'modulepreload', crossorigin: true, href: `/${fileName}` },
          injectTo: 'head' as const,
        }));
      },
    },
  };
}
/** Sign-in, the other screen a console opens on: its own chunk, which the list's first load does not carry. */
const SIGN_IN = [join(WEB, 'features/session/login-page.tsx')];

type ModuleInfo = NonNullable<ReturnType<ManualChunkMeta['getModuleInfo']>>;
interface AstNode {
  readonly type: string;
  readonly source?: { readonly value: unknown } | null;
  readonly specifiers?: readonly { readonly type: string; readonly imported?: { readonly name?: string }; readonly exported?: { readonly name?: string } }[];
}
const bodyOf = (info: ModuleInfo | null) => ((info?.ast as { body?: readonly AstNode[] } | null)?.body ?? []) as readonly AstNode[];

/**
 * An index that re-exports many modules (a library's components, the console's icons): only the
 * names the first screens import from it are followed.
 */
const isLibraryIndex = (id: string) =>
  /\/node_modules\/@mantine\/(core|hooks|notifications)\/esm\/index\.mjs$/.test(id) || id === join(WEB, 'components/icons.ts');

/** The module a re-export names: a relative path, or a package path (an icon) matched by its file name. */
function reExported(id: string, source: string, importedIds: readonly string[]): string | undefined {
  if (source.startsWith('.')) return resolve(dirname(id), source);
  const name = source.slice(source.lastIndexOf('/') + 1);
  return importedIds.find((imported) => imported.slice(imported.lastIndexOf('/') + 1).replace(/\.[cm]?[jt]sx?$/, '') === name);
}

/**
 * What a module imports for its bindings. Mantine's files also import, for nothing, every module of
 * the components they use (`import '../Combobox/Combobox.mjs'` beside `import { ComboboxChevron }
 * from '../Combobox/ComboboxChevron/ComboboxChevron.mjs'`); the package declares them free of side
 * effects, so those are left out: followed, they would put later pages' components in the first chunk.
 */
function boundImports(id: string, info: ModuleInfo | null): readonly string[] {
  const all = info?.importedIds ?? [];
  if (!id.includes('/node_modules/@mantine/')) return all;
  const bare = new Set<string>();
  const bound = new Set<string>();
  for (const node of bodyOf(info)) {
    const source = node.source?.value;
    if (typeof source !== 'string' || !source.startsWith('.') || !node.type.endsWith('Declaration')) continue;
    (node.type === 'ImportDeclaration' && (node.specifiers ?? []).length === 0 ? bare : bound).add(resolve(dirname(id), source));
  }
  return all.filter((imported) => !bare.has(imported) || bound.has(imported));
}

/**
 * The modules the first screens run, following static imports (not the dynamic ones of later pages
 * and dialogs), and a library index only for the names imported from it.
 */
function firstScreenModules(roots: readonly string[], getModuleInfo: ManualChunkMeta['getModuleInfo']): Set<string> {
  const seen = new Set<string>();
  const names = new Set<string>();
  const indexes: string[] = [];
  const visit = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    if (isLibraryIndex(id)) return void indexes.push(id);
    const info = getModuleInfo(id);
    // The names imported: by the console's code from anywhere, by a library from another package (Mantine's hooks).
    const library = id.includes('/node_modules/');
    for (const node of bodyOf(info))
      if (node.type === 'ImportDeclaration' && !(library && String(node.source?.value).startsWith('.')))
        for (const specifier of node.specifiers ?? []) if (specifier.imported?.name) names.add(specifier.imported.name);
    for (const imported of boundImports(id, info)) visit(imported);
  };
  roots.forEach(visit);
  // A module reached through an index may import more names from another: again until nothing is added.
  for (let before = -1; before !== seen.size;) {
    before = seen.size;
    for (const id of indexes) {
      const info = getModuleInfo(id);
      for (const node of bodyOf(info))
        if (
          node.type === 'ExportNamedDeclaration' &&
          typeof node.source?.value === 'string' &&
          node.specifiers?.some((one) => names.has(one.exported?.name ?? ''))
        ) {
          const target = reExported(id, node.source.value, info?.importedIds ?? []);
          if (target !== undefined) visit(target);
        }
    }
  }
  return seen;
}

let chunking: { readonly html: Set<string>; readonly first: Set<string>; readonly signIn: Set<string> } | undefined;

/**
 * Few requests for the first screen, and nothing in them that it does not run: the HTML's own small
 * script (src/web/main.tsx, which starts the first requests) alone; React; the libraries the first
 * screens use (router, query cache, Mantine's core and the components they draw); the console's own
 * code for them. A later page, or a dialog, and the library code only it uses, load when needed.
 */
function manualChunks(id: string, { getModuleInfo }: ManualChunkMeta): string | undefined {
  if (/\/node_modules\/(react|react-dom|scheduler)\/|commonjsHelpers/.test(id)) return 'react';
  chunking ??= {
    html: firstScreenModules([join(WEB, 'main.tsx')], getModuleInfo),
    first: firstScreenModules(FIRST_SCREENS, getModuleInfo),
    signIn: firstScreenModules(SIGN_IN, getModuleInfo),
  };
  // Named as the entry, so that they stay in it: a chunk of its own would be one more request before the first ones.
  if (chunking.html.has(id) || id.includes('vite/preload-helper')) return 'index';
  // An index takes along whatever it re-exports that has no chunk yet: the components that only
  // later pages and dialogs use, in one chunk of their own.
  if (isLibraryIndex(id) && /\/node_modules\/@mantine\/(core|notifications)\//.test(id)) return 'mantine';
  if (chunking.first.has(id)) return id.includes('/node_modules/') || id === SCROLL_BAR_CLASSES ? 'vendor' : 'console';
  if (chunking.signIn.has(id)) return 'sign-in';
  // An icon of later pages only: in one small chunk, rather than taken along by the icons' index.
  if (id.includes('/@tabler/icons-react/')) return 'icons';
  // Used by later pages only, from libraries every page uses: in one chunk they share, neither in
  // the first screen's nor copied into each page's.
  if (/\/node_modules\/(react-router|@tanstack|@mantine\/(hooks|store)|@mantine\/core\/esm\/(core|utils))\//.test(id)) return 'shared';
  // Named here, or a first-screen module that imports them for nothing (see boundImports) would take them along.
  if (/\/node_modules\/(@mantine\/core|@floating-ui)\//.test(id)) return 'mantine';
  return undefined;
}

/** The API server `npm start` runs; the dev server forwards every non-console path to it. */
const API_ORIGIN = 'http://127.0.0.1:3000';

const toApi: ProxyOptions = {
  target: API_ORIGIN,
  changeOrigin: true,
  // The server refuses cookie-authenticated changes from another origin (SECURITY 22). In
  // development the page is on Vite's port, so present the API's own origin instead.
  configure: (proxy) => {
    proxy.on('proxyReq', (request) => {
      if (request.getHeader('origin') !== undefined) request.setHeader('origin', API_ORIGIN);
    });
  },
};

/** The server's half (src/web/server-render.tsx): built apart from the browser's, where nothing sends it. */
const SERVER_OUT = fileURLToPath(new URL('./dist/web-server', import.meta.url));

export default defineConfig(({ isSsrBuild }) => ({
  root: fileURLToPath(new URL('./src/web', import.meta.url)),
  plugins: isSsrBuild ? [react(), appShellWithoutScrollLock()] : [react(), appShellWithoutScrollLock(), preloadFirstScreen(), precompress()],
  resolve: {
    // react-router's package exports only its development build (dev warnings on); this is the same code without them.
    alias: [
      { find: /^react-router$/, replacement: fileURLToPath(new URL('./node_modules/react-router/dist/production/index.mjs', import.meta.url)) },
      { find: /^react-router\/dom$/, replacement: fileURLToPath(new URL('./node_modules/react-router/dist/production/dom-export.mjs', import.meta.url)) },
    ],
  },
  // One file the server imports: the same library code as the browser's (bundled, with the same
  // substitutions), so that both draw the same page.
  ssr: { noExternal: true },
  // React's production build on the server too: its packages choose by NODE_ENV when run, and the
  // development one (unset) drew the first screen several times slower.
  ...(isSsrBuild ? { define: { 'process.env.NODE_ENV': JSON.stringify('production') } } : {}),
  build: isSsrBuild
    ? { outDir: SERVER_OUT, emptyOutDir: true, copyPublicDir: false, rollupOptions: { output: { inlineDynamicImports: true } } }
    : {
        outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
        emptyOutDir: true,
        // The console's CSP allows scripts from 'self' only: no inline module-preload polyfill.
        modulePreload: { polyfill: false },
        chunkSizeWarningLimit: 1500,
        rollupOptions: { output: { manualChunks } },
      },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': toApi, '/oauth': toApi, '/.well-known': toApi, '/graphql': toApi },
  },
}));
