import type { Web } from '@tessera/contracts';
import { label } from './format';

export type CardGateway = Exclude<Web.Gateway, 'manual'>;

/** The gateways that take cards, as the forms offer them (payments, reconciliation). */
export const CARD_GATEWAYS: { value: CardGateway; label: string }[] = [
  { value: 'stripe', label: 'Stripe' },
  { value: 'square', label: 'Square' },
  { value: 'square_terminal', label: 'Square Terminal' },
  { value: 'paypal', label: 'PayPal' },
];

/** GET /commerce/payment-gateways: whether each gateway can take a payment now. */
export interface PayableGateway {
  gateway: Web.Gateway;
  configured: boolean;
}

export const NO_CARD_GATEWAY =
  'Card payments are not set up for this business yet. Ask an administrator to connect Stripe, ' +
  'Square or PayPal in Settings.';

/** The card gateways a payment may use now: those whose account is set, in the forms' order. */
export function offeredCardGateways(payable: readonly PayableGateway[]): typeof CARD_GATEWAYS {
  const configured = new Set(payable.filter((entry) => entry.configured).map((entry) => entry.gateway));
  return CARD_GATEWAYS.filter((option) => configured.has(option.value));
}

/** The company a gateway is, as a merchant knows it (a Square Terminal is Square's). */
export function gatewayName(gateway: string): string {
  switch (gateway) {
    case 'stripe':
      return 'Stripe';
    case 'square':
    case 'square_terminal':
      return 'Square';
    case 'paypal':
      return 'PayPal';
    default:
      return label(gateway);
  }
}

/** Whether a card on this gateway is charged through its token (a saved card's, or a new one's). */
export function takesCardToken(gateway: Web.Gateway): boolean {
  return gateway === 'stripe' || gateway === 'square';
}
