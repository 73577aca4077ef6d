import { Button } from '@mantine/core';
import { IconMapOff } from '../components/icons';
import { Link } from 'react-router';
import { EmptyState } from '../components/empty-state';
import { PageHeader } from '../components/page-header';

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState
        icon={<IconMapOff size={24} />}
        title="There is nothing at this address"
        action={
          <Button component={Link} to="/system/connections" variant="light">
            Go to API clients
          </Button>
        }
      >
        Check the link, or pick a page from the navigation.
      </EmptyState>
    </>
  );
}
