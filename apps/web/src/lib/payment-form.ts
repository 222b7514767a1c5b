import type { Web } from '@tessera/contracts';
import { formatMoney, label } from './format';
import type { FieldErrors } from './forms';
import { gatewayName, takesCardToken } from './payment-gateways';
import { ApiError, errorMessage } from './problem';

/** How the customer pays at the desk: cash and checks are recorded here, cards go through a gateway. */
export type Tender = 'cash' | 'card' | 'check';

/** The payment form's fields that an error can be shown on. */
export type PaymentField =
  'amount' | 'cash_tendered' | 'gateway' | 'saved_card' | 'card_token' | 'check_number';

/** The most characters of a check number: stored in its payment method's label (100 at most). */
export const CHECK_NUMBER_MAX = 50;

/** The payment form as typed, with its amounts read into minor units (null when not an amount). */
export interface PaymentFormValues {
  tender: Tender;
  currency: string;
  /** What is left to pay on the order. */
  due: number;
  amount: number | null;
  /** The cash handed over as typed (empty when not given), and read. */
  tenderedText: string;
  tendered: number | null;
  /** The card gateway chosen, null when none can take cards. */
  gateway: Web.Gateway | null;
  savedCardId: string;
  cardToken: string;
  hasSavedCards: boolean;
}

/** What a payment is about, for its messages: the order's currency and the gateway asked. */
export interface PaymentContext {
  currency: string;
  gateway: Web.Gateway;
  tender?: Tender;
  hasSavedCards?: boolean;
}

/** Why no more can be taken than is left to pay, in money. */
function leftToPay(unpaid: number, currency: string, tender?: Tender): string {
  if (unpaid <= 0) return 'Nothing is left to pay on this order.';
  const left = `At most ${formatMoney(unpaid, currency)} is left to pay on this order.`;
  // Cash handed over beyond what is due is change, not a payment.
  return tender === 'cash'
    ? `${left} Enter what the customer hands over under “Cash handed over”: the change is worked out.`
    : left;
}

function missingCardToken(gateway: Web.Gateway, hasSavedCards: boolean): string {
  const name = gatewayName(gateway);
  return hasSavedCards
    ? `Pick a saved card, or enter the card token from ${name}.`
    : `Enter the card token from ${name}'s card reader or payment form.`;
}

/** What is wrong with the form before anything is sent, by field: the API's own rules, in money. */
export function paymentFormProblems(values: PaymentFormValues): FieldErrors {
  const found: FieldErrors = {};
  const { amount, tendered } = values;
  if (amount === null || amount <= 0) found.amount = 'Enter the amount to take.';
  else if (amount > values.due) found.amount = leftToPay(values.due, values.currency, values.tender);
  if (
    values.tender === 'cash' &&
    values.tenderedText.trim() &&
    (tendered === null || (amount !== null && tendered < amount))
  ) {
    found.cash_tendered = 'The cash handed over must cover the amount.';
  }
  if (
    values.tender === 'card' &&
    values.gateway !== null &&
    takesCardToken(values.gateway) &&
    !values.savedCardId &&
    !values.cardToken.trim()
  ) {
    found.card_token = missingCardToken(values.gateway, values.hasSavedCards);
  }
  return found;
}

/**
 * An API refusal of a payment (or of saving its card) in the words of the desk: amounts in money,
 * gateways by name, and what to do.
 */
export function paymentRefusal(error: unknown, context: PaymentContext): string {
  if (!(error instanceof ApiError)) return errorMessage(error);
  const name = gatewayName(context.gateway);
  switch (error.code) {
    case 'gateway_not_configured':
      return `${name} is not set up for this business yet. Ask an administrator to connect it in Settings.`;
    case 'gateway_error':
      return `${name} did not answer. Wait a moment and try again.`;
    case 'amount_exceeds_balance': {
      const unpaid = error.problem.unpaid;
      return typeof unpaid === 'number'
        ? leftToPay(unpaid, context.currency, context.tender)
        : 'That is more than is left to pay on this order.';
    }
    case 'currency_mismatch':
      return 'The order is in another currency. Reload the page and take the payment again.';
    case 'validation_failed': {
      const [first] = error.fieldErrors;
      return first ? fieldErrorText(first.path, first.message, context) : errorMessage(error);
    }
    default:
      return errorMessage(error);
  }
}

/** Where each field the API may name is shown: the first of these fields on screen. */
const FIELDS_OF_PATH: Record<string, PaymentField[]> = {
  amount: ['amount'],
  cash_tendered: ['cash_tendered'],
  gateway: ['gateway'],
  // The saved card picked, or else the new card's token, which is saved to make one.
  payment_method_id: ['saved_card', 'card_token'],
  gateway_token: ['card_token'],
  label: ['check_number'],
};

const WORDS_OF_PATH: Record<string, string> = {
  amount: 'The amount',
  cash_tendered: 'The cash handed over',
  gateway: 'The gateway',
  payment_method_id: 'The card',
  gateway_token: 'The card token',
  label: 'The check number',
  currency: 'The currency',
  order_id: 'The order',
  capture: 'Authorize only',
};

/** One of the API's field errors (`path`, and a message that follows the field's name) as a sentence. */
function fieldErrorText(path: string, message: string, context: PaymentContext): string {
  const name = gatewayName(context.gateway);
  if ((path === 'payment_method_id' || path === 'gateway_token') && /^is required/.test(message))
    return missingCardToken(context.gateway, context.hasSavedCards ?? false);
  if (path === 'gateway_token' && /^was refused/.test(message)) {
    const reason = message.replace(/^was refused by [^:]*:?\s*/, '');
    return `${name} did not accept this card token${reason ? ` (${reason.replace(/\.$/, '')})` : ''}. Nothing was charged.`;
  }
  if (path === 'cash_tendered' && /^must cover/.test(message))
    return 'The cash handed over must cover the amount.';
  const words = WORDS_OF_PATH[path] ?? label(path);
  return `${words} ${message.replace(/\.$/, '')}.`;
}

/** An API error's messages placed on the form: on the fields shown, and the rest as the form's own. */
export interface PlacedErrors {
  fields: FieldErrors;
  /** What no field on screen can show; null when every message found its field. */
  form: string | null;
}

/**
 * Places an API refusal of a payment on the form: each field error on the field on screen that
 * shows it, and every one whose field is not on screen (a saved-card choice not offered, a field
 * of another tender) in the form's own message, so that no error goes unseen. Codes about one
 * field (more than is left to pay) go on it too.
 */
export function placePaymentErrors(
  error: unknown,
  shown: readonly PaymentField[],
  context: PaymentContext,
): PlacedErrors {
  const fields: FieldErrors = {};
  const form: string[] = [];
  if (!(error instanceof ApiError)) return { fields, form: null };
  const place = (candidates: readonly PaymentField[], text: string) => {
    const field = candidates.find((candidate) => shown.includes(candidate));
    if (!field) form.push(text);
    else if (!fields[field]) fields[field] = text;
  };
  if (error.code === 'amount_exceeds_balance') place(['amount'], paymentRefusal(error, context));
  for (const { path, message } of error.fieldErrors)
    place(FIELDS_OF_PATH[path] ?? [], fieldErrorText(path, message, context));
  return { fields, form: form.length ? [...new Set(form)].join(' ') : null };
}
