import { NativeSelect } from '@mantine/core';

// The dialogs' choice of a secret's expiry, apart from SecretExpiry (./secret-expiry.tsx), which the client
// list draws: Mantine's NativeSelect stays out of the first screen.

/** The regenerate dialog's overlap choices, in seconds. */
export const OVERLAP_CHOICES = [
  { value: '0', label: 'No overlap' },
  { value: String(3600), label: '1 hour' },
  { value: String(24 * 3600), label: '24 hours' },
  { value: String(7 * 86_400), label: '7 days' },
  { value: String(30 * 86_400), label: '30 days' },
];

/** When a new secret may be chosen to expire, in days ('' : none asked for). */
const EXPIRY_CHOICES = [
  { value: '', label: 'Never (or the installation’s maximum)' },
  ...[30, 90, 180, 365].map((days) => ({ value: String(days), label: `In ${days} days` })),
];

/** The time a secret chosen with SecretExpirySelect stops working; null when none was asked for. */
export function expiresAtOf(choice: string, now = Date.now()): string | null {
  return choice === '' ? null : new Date(now + Number(choice) * 86_400_000).toISOString();
}

/** When a new secret expires, as the create and the regenerate dialogs offer it; `choice` goes through expiresAtOf. */
export function SecretExpirySelect({
  label,
  choice,
  onChange,
  error,
}: {
  label: string;
  choice: string;
  onChange: (choice: string) => void;
  error?: string | undefined;
}) {
  return <NativeSelect label={label} value={choice} onChange={(event) => onChange(event.currentTarget.value)} data={EXPIRY_CHOICES} error={error} />;
}
