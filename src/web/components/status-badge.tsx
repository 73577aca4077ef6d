/**
 * Enabled (teal) or Disabled (gray), as in the product description. Drawn by styles.css rather
 * than Mantine's light badge, whose text is below AA contrast on its own background.
 */
export function StatusBadge({ enabled }: { enabled: boolean }) {
  return <span className={`koios-status ${enabled ? 'koios-status-enabled' : 'koios-status-disabled'}`}>{enabled ? 'Enabled' : 'Disabled'}</span>;
}
