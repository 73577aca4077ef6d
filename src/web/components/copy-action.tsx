import { ActionIcon, Tooltip, VisuallyHidden } from '@mantine/core';
import { useCopy } from './use-copy';

/** An icon button that copies `value`; `label` is its accessible name ("Copy client ID"). */
export function CopyAction({ value, label, size = 'md' }: { value: string; label: string; size?: 'sm' | 'md' | 'lg' }) {
  const copy = useCopy(value, label);
  return (
    <>
      <Tooltip label={copy.hint} withArrow>
        <ActionIcon variant="subtle" color={copy.copied ? 'teal' : 'gray'} size={size} aria-label={label} onClick={copy.onClick}>
          {copy.icon}
        </ActionIcon>
      </Tooltip>
      <VisuallyHidden role="status">{copy.status}</VisuallyHidden>
    </>
  );
}
