import { describe, expect, it } from 'vitest';
import { paymentFormProblems, placePaymentErrors, type PaymentFormValues } from './payment-form';
import { ApiError } from './problem';

const form: PaymentFormValues = {
  tender: 'cash',
  currency: 'USD',
  due: 7350,
  amount: 7350,
  tenderedText: '',
  tendered: null,
  gateway: null,
  savedCardId: '',
  cardToken: '',
  hasSavedCards: false,
};

describe('the payment form is checked before anything is sent', () => {
  it('takes at most what is left to pay, said in money', () => {
    expect(paymentFormProblems(form)).toEqual({});
    expect(paymentFormProblems({ ...form, tender: 'check', amount: 10000 })).toEqual({
      amount: 'At most $73.50 is left to pay on this order.',
    });
    expect(paymentFormProblems({ ...form, amount: null }).amount).toBe('Enter the amount to take.');
    expect(paymentFormProblems({ ...form, amount: 0 }).amount).toBe('Enter the amount to take.');
  });

  it('lets cash handed over exceed what is due (the change), never the amount taken', () => {
    expect(paymentFormProblems({ ...form, tenderedText: '100', tendered: 10000 })).toEqual({});
    expect(paymentFormProblems({ ...form, amount: 10000 }).amount).toBe(
      'At most $73.50 is left to pay on this order. Enter what the customer hands over under “Cash ' +
        'handed over”: the change is worked out.',
    );
    expect(paymentFormProblems({ ...form, tenderedText: '50', tendered: 5000 })).toEqual({
      cash_tendered: 'The cash handed over must cover the amount.',
    });
  });

  it('asks for the card token a Stripe or Square card is charged with, unless a saved card is picked', () => {
    const card = { ...form, tender: 'card' as const, gateway: 'stripe' as const };
    expect(paymentFormProblems(card)).toEqual({
      card_token: "Enter the card token from Stripe's card reader or payment form.",
    });
    expect(paymentFormProblems({ ...card, hasSavedCards: true }).card_token).toBe(
      'Pick a saved card, or enter the card token from Stripe.',
    );
    expect(paymentFormProblems({ ...card, savedCardId: 'pm-1' })).toEqual({});
    expect(paymentFormProblems({ ...card, cardToken: 'pm_card_visa' })).toEqual({});
    // A Terminal checkout or a PayPal approval takes no token.
    expect(paymentFormProblems({ ...card, gateway: 'square_terminal' })).toEqual({});
    expect(paymentFormProblems({ ...card, gateway: 'paypal' })).toEqual({});
  });
});

describe("the API's refusals of a payment are never left unseen", () => {
  const stripe = { currency: 'USD', gateway: 'stripe' as const };
  const required = new ApiError(400, {
    code: 'validation_failed',
    detail: 'payment_method_id is required for stripe (a card stored with its gateway token)',
    errors: [
      { path: 'payment_method_id', message: 'is required for stripe (a card stored with its gateway token)' },
    ],
  });

  it("puts a field's error on the field on screen that shows it", () => {
    expect(placePaymentErrors(required, ['amount', 'card_token'], stripe)).toEqual({
      fields: { card_token: "Enter the card token from Stripe's card reader or payment form." },
      form: null,
    });
    expect(placePaymentErrors(required, ['amount', 'saved_card', 'card_token'], stripe).fields).toEqual({
      saved_card: "Enter the card token from Stripe's card reader or payment form.",
    });
  });

  it('says in the form what no field on screen can show', () => {
    expect(placePaymentErrors(required, ['amount'], stripe)).toEqual({
      fields: {},
      form: "Enter the card token from Stripe's card reader or payment form.",
    });
    const odd = new ApiError(400, {
      code: 'validation_failed',
      errors: [
        { path: 'capture', message: 'must be true for Square Terminal' },
        { path: 'amount', message: 'must be <= 1000000000000000' },
      ],
    });
    expect(placePaymentErrors(odd, ['amount'], stripe)).toEqual({
      fields: { amount: 'The amount must be <= 1000000000000000.' },
      form: 'Authorize only must be true for Square Terminal.',
    });
  });

  it('puts more than is left to pay on the amount, in money', () => {
    const overpaid = new ApiError(409, { code: 'amount_exceeds_balance', unpaid: 7350 });
    expect(placePaymentErrors(overpaid, ['amount'], { ...stripe, tender: 'check' })).toEqual({
      fields: { amount: 'At most $73.50 is left to pay on this order.' },
      form: null,
    });
  });

  it("tells a card token the gateway refused on the token's field", () => {
    const refused = new ApiError(400, {
      code: 'validation_failed',
      errors: [{ path: 'gateway_token', message: 'was refused by stripe: No such PaymentMethod: pm_x' }],
    });
    expect(placePaymentErrors(refused, ['card_token'], stripe).fields).toEqual({
      card_token: 'Stripe did not accept this card token (No such PaymentMethod: pm_x). Nothing was charged.',
    });
  });

  it('leaves errors without fields to the form as a whole', () => {
    expect(
      placePaymentErrors(new ApiError(409, { code: 'gateway_not_configured' }), ['amount'], stripe),
    ).toEqual({ fields: {}, form: null });
  });
});
