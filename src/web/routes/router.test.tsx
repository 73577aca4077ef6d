import type { RouteObject } from 'react-router';
import { describe, expect, it } from 'vitest';
import { CONSOLE_PATHS, PUBLIC_CONSOLE_PATHS } from '../../shared/console-routes';
import { consoleRoutes } from './router';

function pathsOf(routes: readonly RouteObject[]): string[] {
  return routes.flatMap((route) => [...(route.path === undefined ? [] : [route.path]), ...pathsOf(route.children ?? [])]);
}

describe('the console router', () => {
  it('has a page for exactly the paths the server answers with index.html, and a not-found page for the rest', () => {
    const paths = pathsOf(consoleRoutes());
    expect(paths.filter((path) => path !== '*').sort()).toEqual([...CONSOLE_PATHS].sort());
    expect(paths).toContain('*');
  });

  it('lets only sign-in and setup be reached without a session', () => {
    const routes = consoleRoutes();
    const standalone = routes.filter((route) => route.path !== undefined).map((route) => route.path);
    expect(standalone).toEqual([...PUBLIC_CONSOLE_PATHS]);
    const signedIn = routes.find((route) => route.path === undefined)!;
    expect(pathsOf(signedIn.children ?? [])).not.toContain('/login');
  });
});
