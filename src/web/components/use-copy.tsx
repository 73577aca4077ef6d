import { IconCheck, IconCopy } from './icons';
import { type MouseEvent, useEffect, useState } from 'react';

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

/**
 * Copying `value` on click, and saying how it went for two seconds: `hint` for the pointer (tooltip
 * or title), `status` for a screen reader (a live region), `icon` for the eye.
 */
export function useCopy(value: string, label: string) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  return {
    copied: state === 'copied',
    hint: state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it' : label,
    status: state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : '',
    icon: state === 'copied' ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />,
    onClick: (event: MouseEvent) => {
      event.stopPropagation();
      copyText(value).then(
        () => setState('copied'),
        () => setState('failed'),
      );
    },
  };
}
