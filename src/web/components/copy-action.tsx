import { ActionIcon, Tooltip, VisuallyHidden } from '@mantine/core';
import { IconCheck, IconCopy } from './icons';
import { useEffect, useState } from 'react';

/** Clipboard API where the page may use it; the selection-and-copy fallback elsewhere. */
export async function copyText(value: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(value);
    return;
  } catch {
    // Denied or unavailable: fall back to the older way, which needs a selected text field.
  }
  const field = document.createElement('textarea');
  field.value = value;
  field.setAttribute('readonly', '');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  document.body.appendChild(field);
  field.select();
  const copied = document.execCommand('copy');
  field.remove();
  if (!copied) throw new Error('the browser refused to copy');
}

/** An icon button that copies `value`; `label` is its accessible name ("Copy client ID"). */
export function CopyAction({ value, label, size = 'md' }: { value: string; label: string; size?: 'sm' | 'md' | 'lg' }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);

  return (
    <>
      <Tooltip label={state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it' : label} withArrow>
        <ActionIcon
          variant="subtle"
          color={state === 'copied' ? 'teal' : 'gray'}
          size={size}
          aria-label={label}
          onClick={(event) => {
            event.stopPropagation();
            copyText(value).then(
              () => setState('copied'),
              () => setState('failed'),
            );
          }}
        >
          {state === 'copied' ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />}
        </ActionIcon>
      </Tooltip>
      <VisuallyHidden role="status">{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : ''}</VisuallyHidden>
    </>
  );
}
