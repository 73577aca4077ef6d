import { Button, Skeleton, Stack } from '@mantine/core';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { ApiError } from '../lib/api';
import { EmptyState } from './empty-state';
import { ErrorAlert } from './error-alert';
import { PageHeader, type Crumb } from './page-header';

export interface DetailPageFallbackProps {
  /** The page's query while it has no data: still loading, or failed. */
  readonly query: { readonly isPending: boolean; readonly error: unknown; readonly refetch: () => unknown };
  /** What the page shows, as in "This API client does not exist": "API client", "user", "role". */
  readonly noun: string;
  /** Where the page sits; the page's own crumb is added. */
  readonly crumbs: Crumb[];
  /** The list the page belongs to, for a way back from a missing one. */
  readonly back: { readonly to: string; readonly label: string };
  readonly icon: ReactNode;
  /** The heights of the page's blocks below its header, so the loaded page does not jump; `tabs` adds its tab row. */
  readonly skeleton: { readonly tabs?: boolean; readonly blocks: readonly number[] };
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * A detail page (`/system/connections/{id}`, `/users/{id}`, `/roles/{id}`) before it has its data:
 * skeletons in its own shape while it loads; "does not exist" with a way back for an unknown or
 * malformed id; the API's words and Try again for any other failure.
 */
export function DetailPageFallback({ query, noun, crumbs, back, icon, skeleton }: DetailPageFallbackProps) {
  if (query.isPending) {
    return (
      <Stack gap="lg" aria-busy>
        <PageHeader title={<Skeleton h={32} w={260} />} crumbs={[...crumbs, { label: 'Loading…' }]} />
        {skeleton.tabs === true && <Skeleton h={36} w={420} />}
        {skeleton.blocks.map((height, index) => (
          <Skeleton key={index} h={height} />
        ))}
      </Stack>
    );
  }
  const notFound = query.error instanceof ApiError && (query.error.status === 404 || query.error.status === 400);
  if (notFound) {
    return (
      <>
        <PageHeader title={`${capitalised(noun)} not found`} crumbs={crumbs} />
        <EmptyState
          icon={icon}
          title={`This ${noun} does not exist`}
          action={
            <Button component={Link} to={back.to} variant="light">
              {back.label}
            </Button>
          }
        >
          It may have been deleted. Check the link, or find the {noun} in the list.
        </EmptyState>
      </>
    );
  }
  return (
    <>
      <PageHeader title={capitalised(noun)} crumbs={crumbs} />
      <ErrorAlert error={query.error} title={`The ${noun} could not be loaded`} onRetry={() => void query.refetch()} />
    </>
  );
}
