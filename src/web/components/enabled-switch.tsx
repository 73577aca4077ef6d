import { Switch } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation } from '@tanstack/react-query';
import { useId } from 'react';
import { errorMessage } from '../lib/api';

export interface EnabledSwitchProps<T> {
  readonly enabled: boolean;
  /** Saves the new state through the page's own update, which refreshes what it changes. */
  readonly save: (enabled: boolean) => Promise<T>;
  readonly disabled?: boolean;
  /** Why it cannot be switched, said under it and to a screen reader. */
  readonly reason?: string | undefined;
  /** What is switched, for a failure's title: "Could not disable the API client". */
  readonly noun: string;
  /** The notification after a change. */
  readonly saved: (result: T, enabled: boolean) => { readonly title: string; readonly message: string };
}

/**
 * The enable/disable switch of a detail page's header (the first switch on the page).
 * It shows the new state while the change is saved, then a notification; a failure puts it back.
 */
export function EnabledSwitch<T>({ enabled, save, disabled = false, reason, noun, saved }: EnabledSwitchProps<T>) {
  // The notifications are the mutation's own, not one call's: they come even if the page re-renders
  // or is left meanwhile.
  const change = useMutation({
    mutationFn: save,
    onSuccess: (result, next) => notifications.show({ color: 'teal', ...saved(result, next) }),
    onError: (error, next) => notifications.show({ color: 'red', title: `Could not ${next ? 'enable' : 'disable'} the ${noun}`, message: errorMessage(error) }),
  });
  const reasonId = `${useId()}-reason`;
  return (
    <Switch
      label="Enabled"
      // Mantine puts the description inside the label: name the switch by its label alone.
      aria-label="Enabled"
      aria-describedby={reason === undefined ? undefined : reasonId}
      description={reason === undefined ? undefined : <span id={reasonId}>{reason}</span>}
      size="md"
      color="teal"
      checked={change.isPending ? change.variables : enabled}
      disabled={disabled || change.isPending}
      onChange={(event) => change.mutate(event.currentTarget.checked)}
    />
  );
}
