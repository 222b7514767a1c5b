import type { Gateway } from '@tessera/contracts';
import { ManualGateway } from './manual';
import { PayPalGateway } from './paypal';
import { SquareGateway, SquareTerminalGateway } from './square';
import { StripeGateway } from './stripe';
import type { AdapterOptions, PaymentGateway } from './types';

export * from './types';
export { PayPalGateway } from './paypal';
export { SquareGateway, SquareTerminalGateway } from './square';

/** The adapter of a gateway for one account's credentials. */
export function createGateway(name: Gateway, options: AdapterOptions): PaymentGateway {
  switch (name) {
    case 'stripe':
      return new StripeGateway(options);
    case 'square':
      return new SquareGateway(options);
    case 'square_terminal':
      return new SquareTerminalGateway(options);
    case 'paypal':
      return new PayPalGateway(options);
    case 'manual':
      return new ManualGateway();
  }
}
