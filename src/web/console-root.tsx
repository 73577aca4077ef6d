import { MantineProvider } from '@mantine/core';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { StrictMode, type ReactNode } from 'react';
import { loadWhenIdle } from './components/load-when-idle';
import { cssVariablesResolver, theme } from './theme';

// Nothing to show at first: loaded once the first screen is drawn. A notification shown before then waits in its store.
const Notifications = loadWhenIdle(async () => (await import('./components/notifications-host')).NotificationsHost);

/** What every page of the console sits in, the same in the browser and on the server (its router aside). */
export function ConsoleRoot({ queryClient, children }: { readonly queryClient: QueryClient; readonly children: ReactNode }) {
  return (
    <StrictMode>
      <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver} defaultColorScheme="auto">
        <Notifications />
        <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
      </MantineProvider>
    </StrictMode>
  );
}
