// @vitest-environment jsdom
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { renderWithProviders } from '../../test/render';
import { CredentialsDialog, type Credentials } from './credentials-dialog';

const credentials: Credentials = {
  clientId: '4bc5a135-0faf-4551-b9a2-a018c888242f',
  clientSecret: 'koios_cs_s3cr3t-value-shown-once',
  clientName: 'Billing export',
};

function open(onClose = vi.fn(), shown: Credentials | null = credentials) {
  const view = renderWithProviders(<CredentialsDialog credentials={shown} title="API client created" onClose={onClose} />);
  return { onClose, view, dialog: screen.getByRole('dialog', { name: 'API client created' }) };
}

describe('the one-time credentials dialog', () => {
  it('shows the Client ID and the Client Secret with a copy button each, and warns that the secret is shown once', () => {
    const { dialog } = open();
    expect(within(dialog).getByLabelText('Client ID')).toHaveProperty('value', credentials.clientId);
    expect(within(dialog).getByLabelText('Client Secret')).toHaveProperty('value', credentials.clientSecret);
    expect(within(dialog).getByRole('button', { name: 'Copy client ID' })).toBeTruthy();
    expect(within(dialog).getByRole('button', { name: 'Copy client secret' })).toBeTruthy();
    expect(dialog.textContent).toMatch(/will not be shown again/);
  });

  it('cannot be closed by Escape, by the close button or by Done until "I have copied the secret" is ticked', () => {
    const { dialog, onClose } = open();
    fireEvent.keyDown(dialog, { key: 'Escape' });
    fireEvent.keyDown(document, { key: 'Escape' });
    const close = within(dialog).getByRole('button', { name: 'Close' });
    const done = within(dialog).getByRole('button', { name: 'Done' });
    expect(close).toHaveProperty('disabled', true);
    expect(done).toHaveProperty('disabled', true);
    fireEvent.click(close);
    fireEvent.click(done);
    expect(onClose).not.toHaveBeenCalled();
    expect(screen.getByRole('dialog')).toBeTruthy();
  });

  it('closes with Done or the close button once the person says they copied the secret, and still not with Escape', () => {
    const { dialog, onClose } = open();
    fireEvent.click(within(dialog).getByRole('checkbox', { name: 'I have copied the secret' }));
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(onClose).not.toHaveBeenCalled();
    expect(within(dialog).getByRole('button', { name: 'Close' })).toHaveProperty('disabled', false);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('gives the keyboard focus to the secret, and after Done to the element it is told', async () => {
    const onClose = vi.fn();
    const trigger = document.createElement('button');
    document.body.appendChild(trigger);
    const view = renderWithProviders(
      <CredentialsDialog credentials={credentials} title="API client created" onClose={onClose} returnFocusTo={{ current: trigger }} />,
    );
    const dialog = screen.getByRole('dialog', { name: 'API client created' });
    await waitFor(() => expect(document.activeElement).toBe(within(dialog).getByLabelText('Client Secret')));
    fireEvent.click(within(dialog).getByRole('checkbox', { name: 'I have copied the secret' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(document.activeElement).toBe(trigger);
    view.unmount();
    trigger.remove();
  });

  it('asks again for a new secret (a regeneration after a creation)', () => {
    const onClose = vi.fn();
    const { view } = open(onClose);
    fireEvent.click(screen.getByRole('checkbox', { name: 'I have copied the secret' }));
    view.rerender(<CredentialsDialog credentials={{ ...credentials, clientSecret: 'koios_cs_another' }} title="API client created" onClose={onClose} />);
    expect(screen.getByRole('checkbox', { name: 'I have copied the secret' })).toHaveProperty('checked', false);
    expect(screen.getByRole('button', { name: 'Done' })).toHaveProperty('disabled', true);
  });

  it('copies the secret to the clipboard', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const { dialog } = open();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Copy client secret' }));
    expect(writeText).toHaveBeenCalledWith(credentials.clientSecret);
    expect(await within(dialog).findByText('Copied', { selector: '[role="status"]' })).toBeTruthy();
  });

  it('renders nothing without credentials', () => {
    renderWithProviders(<CredentialsDialog credentials={null} title="API client created" onClose={vi.fn()} />);
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
