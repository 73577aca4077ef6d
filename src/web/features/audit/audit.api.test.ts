import { describe, expect, it } from 'vitest';
import { describeDetails } from './audit.api';

describe('an audit entry’s details in words', () => {
  it('says a settings object by its set fields, and "none" when nothing is set', () => {
    expect(describeDetails({ rateLimit: { requestsPerMinute: null, tokensPerMinute: null } })).toBe('rateLimit: none');
    expect(describeDetails({ rateLimit: { requestsPerMinute: 600, tokensPerMinute: null } })).toBe('rateLimit: requestsPerMinute 600');
    expect(
      describeDetails({ rateLimit: { from: { requestsPerMinute: null, tokensPerMinute: 10 }, to: { requestsPerMinute: 600, tokensPerMinute: 20 } } }),
    ).toBe('rateLimit: tokensPerMinute 10 → requestsPerMinute 600, tokensPerMinute 20');
  });

  it('keeps naming a named object by its name, and a list by its items', () => {
    expect(describeDetails({ role: { id: 'r1', name: 'Viewer' }, allowedCidrs: ['10.0.0.0/8', '192.168.0.0/16'] })).toBe(
      'role: Viewer; allowedCidrs: 10.0.0.0/8, 192.168.0.0/16',
    );
  });
});
