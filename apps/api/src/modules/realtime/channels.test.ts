import { uuidv7, type TypedEvent } from '@tessera/contracts';
import { describe, expect, it } from 'vitest';
import { notificationOf } from './channels';

function pendingRefund(amount: number, currency: string): TypedEvent<'refund.created'> {
  return {
    id: uuidv7(),
    type: 'refund.created',
    tenant_id: uuidv7(),
    occurred_at: new Date().toISOString(),
    version: 1,
    actor: { type: 'system', id: null },
    data: {
      refund_id: uuidv7(),
      payment_id: uuidv7(),
      order_id: uuidv7(),
      gateway: 'manual',
      status: 'pending',
      amount,
      currency,
      reason: null,
    },
  };
}

describe('notifications', () => {
  it('write amounts with the ISO 4217 exponent of their currency, not CLDR’s', () => {
    const messages = (
      [
        [12345, 'HUF'],
        [12345, 'IQD'],
        [12345, 'JPY'],
        [12345, 'EUR'],
      ] as const
    )
      // Intl separates a code from its amount with a no-break space.
      .map(([amount, currency]) =>
        notificationOf(pendingRefund(amount, currency))?.data.message.replace(/\u00a0/g, ' '),
      );
    expect(messages).toEqual([
      'A refund of HUF 123.45 awaits approval',
      'A refund of IQD 12.345 awaits approval',
      'A refund of ¥12,345 awaits approval',
      'A refund of €123.45 awaits approval',
    ]);
  });
});
