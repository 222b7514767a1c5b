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

function dispute(status: 'needs_response' | 'under_review' | 'won' | 'lost'): TypedEvent<'payment.disputed'> {
  return {
    id: uuidv7(),
    type: 'payment.disputed',
    tenant_id: uuidv7(),
    occurred_at: new Date().toISOString(),
    version: 1,
    actor: { type: 'system', id: null },
    data: {
      dispute_id: uuidv7(),
      payment_id: uuidv7(),
      order_id: uuidv7(),
      gateway: 'square_terminal',
      status,
      amount: 4000,
      currency: 'USD',
      reason: 'NOT_RECEIVED',
      evidence_due_by: null,
    },
  };
}

describe('notifications', () => {
  it('tell of a dispute that waits for an answer, and of its decision, to those who read payments', () => {
    const opened = notificationOf(dispute('needs_response'));
    expect(opened).toMatchObject({
      permission: 'read:payments',
      data: {
        kind: 'payment_disputed',
        message: 'A payment of $40.00 is disputed (not received): answer it in Square',
      },
    });
    expect(notificationOf(dispute('under_review'))).toBeNull();
    expect(notificationOf(dispute('lost'))?.data.message).toBe('A dispute of $40.00 was lost');
  });

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
