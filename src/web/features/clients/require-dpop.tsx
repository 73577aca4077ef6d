import { Switch } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation } from '@tanstack/react-query';
import { useId } from 'react';
import { errorMessage } from '../../lib/api';
import type { ApiClient } from '../../lib/types';
import { useUpdateClient } from './clients.api';

/**
 * "Require DPoP": the client's tokens must be bound to a key it holds (RFC 9449), so a token copied
 * from a log or a proxy is useless. It shows the new state while the change is saved; a failure puts it back.
 */
export function RequireDpopSwitch({ client, disabled }: { client: ApiClient; disabled: boolean }) {
  const update = useUpdateClient(client.id);
  // The notifications are the mutation's own, not one call's: they come even if the page is left meanwhile.
  const change = useMutation({
    mutationFn: (requireDpop: boolean) => update.mutateAsync({ requireDpop }),
    onSuccess: (saved) =>
      notifications.show({
        color: 'teal',
        title: saved.requireDpop ? 'DPoP required' : 'DPoP no longer required',
        message: saved.requireDpop
          ? `${saved.name} gets tokens only with a DPoP proof, and its unbound tokens stop working.`
          : `${saved.name} may get bearer tokens again.`,
      }),
    onError: (error, next) =>
      notifications.show({ color: 'red', title: `Could not ${next ? 'require' : 'stop requiring'} DPoP`, message: errorMessage(error) }),
  });
  const descriptionId = `${useId()}-description`;
  return (
    <Switch
      mt="md"
      label="Require DPoP"
      // Mantine puts the description inside the label: name the switch by its label alone.
      aria-label="Require DPoP"
      aria-describedby={descriptionId}
      description={
        <span id={descriptionId}>
          Tokens only bound to a key the client holds (RFC 9449): a token request without a DPoP proof is refused, and a copied token is useless.
        </span>
      }
      checked={change.isPending ? change.variables : client.requireDpop}
      disabled={disabled || change.isPending}
      onChange={(event) => change.mutate(event.currentTarget.checked)}
    />
  );
}
