import { RemoveScroll as removeScroll } from 'react-remove-scroll';
import { describe, expect, it } from 'vitest';
import { RemoveScroll } from './scroll-bar-classes';

describe('the scroll-bar class names given to the AppShell', () => {
  it('are those of the scroll lock that modals use', () => {
    expect(RemoveScroll.classNames).toEqual(removeScroll.classNames);
  });
});
