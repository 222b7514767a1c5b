import type { Web } from '@tessera/contracts';

/**
 * Whether the gateway holds a capture it accepted (a PayPal review, an eCheck clearing): the
 * payment is still authorized, yet a capture of it succeeded. It completes or fails when the
 * gateway settles it, and neither a capture nor a void can be sent meanwhile. Only the detail,
 * which carries the gateway calls, can tell.
 */
export function captureHeld(payment: Web.Payment): boolean {
  return (
    payment.status === 'authorized' &&
    (payment.transactions ?? []).some((call) => call.kind === 'capture' && call.outcome === 'succeeded')
  );
}
