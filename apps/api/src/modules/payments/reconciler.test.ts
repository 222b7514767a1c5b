import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Platform } from '../../platform/platform';
import { startPaymentsReconciler, type PaymentsService } from './index';

describe('the payments reconciler job', () => {
  it('runs one pass at a time, and stops only once the pass in flight has ended', async () => {
    let finish!: () => void;
    const pass = new Promise<number>((resolve) => (finish = () => resolve(0)));
    const payments = {
      settleUnknown: vi.fn(() => pass),
      voidAbandoned: vi.fn(async () => 0),
      pollPending: vi.fn(async () => 0),
    };
    const platform = { logger: pino({ level: 'silent' }) } as unknown as Platform;
    const stop = startPaymentsReconciler(platform, payments as unknown as PaymentsService, 5);
    await vi.waitFor(() => expect(payments.settleUnknown).toHaveBeenCalledTimes(1));

    let stopped = false;
    const stopping = stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    expect(payments.settleUnknown).toHaveBeenCalledTimes(1);
    finish();
    await stopping;
    expect(stopped).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(payments.settleUnknown).toHaveBeenCalledTimes(1);
  });
});
