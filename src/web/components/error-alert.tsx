import { Alert, Button, Group, List } from '@mantine/core';
import { IconAlertTriangle } from './icons';
import { errorMessage, problemOf } from '../lib/api';

/** An API failure shown where it happened, with the server's words and a way to retry. */
export function ErrorAlert({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  const problem = problemOf(error);
  const fieldsOnly = problem.errors?.filter((item) => item.field !== 'body') ?? [];
  return (
    <Alert color="red" variant="light" title={title ?? problem.title} icon={<IconAlertTriangle aria-hidden />} role="alert">
      {errorMessage(error)}
      {fieldsOnly.length > 1 && (
        <List size="sm" mt="xs">
          {fieldsOnly.map((item) => (
            <List.Item key={`${item.field}:${item.message}`}>
              {item.field} {item.message}
            </List.Item>
          ))}
        </List>
      )}
      {onRetry !== undefined && (
        <Group mt="sm">
          <Button size="xs" variant="light" color="red" onClick={onRetry}>
            Try again
          </Button>
        </Group>
      )}
    </Alert>
  );
}
