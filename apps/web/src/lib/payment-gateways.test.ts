import { describe, expect, it } from 'vitest';
import { offeredCardGateways } from './payment-gateways';

describe('cards are offered only through gateways set up for the business', () => {
  it('offers the configured card gateways, in the forms’ order, never cash', () => {
    const offered = offeredCardGateways([
      { gateway: 'paypal', configured: true },
      { gateway: 'stripe', configured: true },
      { gateway: 'square', configured: false },
      { gateway: 'square_terminal', configured: false },
      { gateway: 'manual', configured: true },
    ]);
    expect(offered.map((option) => option.label)).toEqual(['Stripe', 'PayPal']);
  });

  it('offers none when no account is set', () => {
    expect(offeredCardGateways([{ gateway: 'manual', configured: true }])).toEqual([]);
  });
});
