// @vitest-environment jsdom
import { Modal, Notification } from '@mantine/core';
import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderWithProviders } from './test/render';

describe('the console’s theme', () => {
  it('names the close button of every notification', () => {
    renderWithProviders(
      <Notification title="Role saved" onClose={() => undefined}>
        Billing export now has the role Viewer.
      </Notification>,
    );
    expect(screen.getByRole('button', { name: 'Dismiss notification' })).toBeTruthy();
  });

  it('names the close button of every dialog', async () => {
    renderWithProviders(
      <Modal opened onClose={() => undefined} title="Create role">
        A form
      </Modal>,
    );
    const dialog = await screen.findByRole('dialog', { name: 'Create role' });
    expect(within(dialog).getByRole('button', { name: 'Close' })).toBeTruthy();
  });
});
