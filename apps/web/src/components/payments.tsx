import type { Web } from '@tessera/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../lib/api';
import { formatMoney, label, minorToInput, parseMoney } from '../lib/format';
import { useFieldErrors } from '../lib/forms';
import { keyOutcome, useIdempotencyKey } from '../lib/idempotency';
import {
  PaymentAttempt,
  paymentErrorMessage,
  paymentOutcome,
  type PaymentCalls,
  type PaymentIntent,
} from '../lib/payment-attempt';
import {
  CHECK_NUMBER_MAX,
  paymentFormProblems,
  placePaymentErrors,
  type PaymentContext,
  type PaymentField,
  type Tender,
} from '../lib/payment-form';
import {
  CARD_GATEWAYS,
  gatewayName,
  NO_CARD_GATEWAY,
  offeredCardGateways,
  takesCardToken,
  type PayableGateway,
} from '../lib/payment-gateways';
import { refundState } from '../lib/payment-refund';
import { Badge, Button, Dialog, ErrorState, FormError, Loading, Money, SelectField, TextField } from './ui';

/** A refund's state, and why it failed when it did: the gateway's words or the reason for declining it. */
export function RefundStatus({ refund }: { refund: Web.Refund }) {
  return (
    <>
      <Badge value={refundState(refund)} />
      {refund.failure_message && <div className="hint">{refund.failure_message}</div>}
    </>
  );
}

/** A choice of card gateways: those given, or else all of them (reconciliation compares any). */
export function CardGatewaySelect({
  value,
  onChange,
  options = CARD_GATEWAYS,
  error,
}: {
  value: Web.Gateway;
  onChange: (gateway: Web.Gateway) => void;
  options?: readonly { value: Web.Gateway; label: string }[];
  error?: string | undefined;
}) {
  return (
    <SelectField
      label="Gateway"
      value={value}
      error={error}
      onChange={(event) => onChange(event.target.value as Web.Gateway)}
    >
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.label}
        </option>
      ))}
    </SelectField>
  );
}

/**
 * The gateways that can take a payment now, which whoever takes payments may read. Under
 * ['gateways'], which Settings refreshes when an account is saved.
 */
function usePayableGateways(enabled: boolean) {
  return useQuery({
    queryKey: ['gateways', 'payable'],
    queryFn: ({ signal }) =>
      api<{ data: PayableGateway[] }>('/commerce/payment-gateways', { signal }).then((answer) => answer.data),
    enabled,
  });
}

/** Refetches everything a payment changes. */
async function paymentChanged(
  queryClient: ReturnType<typeof useQueryClient>,
  orderId: string,
): Promise<void> {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: ['order', orderId] }),
    queryClient.invalidateQueries({ queryKey: ['orders'] }),
    queryClient.invalidateQueries({ queryKey: ['payments'] }),
    queryClient.invalidateQueries({ queryKey: ['refunds'] }),
    queryClient.invalidateQueries({ queryKey: ['dashboard'] }),
  ]);
}

const TENDERS: { value: Tender; label: string }[] = [
  { value: 'cash', label: 'Cash' },
  { value: 'card', label: 'Card' },
  { value: 'check', label: 'Check' },
];

/** A payment's calls to the API: the method made for it (a new card's token, a check), and the payment itself. */
const paymentCalls: PaymentCalls = {
  saveMethod: (method, idempotencyKey) =>
    api<Web.PaymentMethod>('/commerce/payment-methods', { method: 'POST', body: method, idempotencyKey }),
  pay: (request, idempotencyKey) =>
    api<Web.Payment>('/commerce/payments', { method: 'POST', body: request, idempotencyKey }),
};

/** What the customer or the terminal must do next, when the gateway says. */
export function NextAction({ payment }: { payment: Web.Payment }) {
  const action = payment.next_action as {
    type?: string;
    url?: string;
    redirect_url?: string;
    approve_url?: string;
  } | null;
  if (!action || payment.status !== 'pending') return null;
  const url = action.url ?? action.redirect_url ?? action.approve_url;
  return (
    <p className="alert alert-info">
      Waiting for the customer{action.type ? ` (${action.type.replace(/_/g, ' ')})` : ''}.{' '}
      {url && (
        <a href={url} target="_blank" rel="noreferrer">
          Open the approval page
        </a>
      )}
    </p>
  );
}

/**
 * Take a payment for an order: cash with change due, a check, or a card through one of the
 * gateways set up for the business.
 */
export function TakePaymentDialog({
  order,
  open,
  onClose,
}: {
  order: Web.Order;
  open: boolean;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const due = Math.max(0, order.total - order.amount_paid);
  const [method, setMethod] = useState<Tender>('cash');
  const [amount, setAmount] = useState(minorToInput(due, order.currency));
  const [tendered, setTendered] = useState('');
  const [checkNumber, setCheckNumber] = useState('');
  const [gatewayChoice, setGatewayChoice] = useState<Web.Gateway | null>(null);
  const [methodId, setMethodId] = useState('');
  const [cardToken, setCardToken] = useState('');
  const [capture, setCapture] = useState(true);
  const [result, setResult] = useState<Web.Payment | null>(null);
  // What the API refused that no field on screen shows.
  const [formProblem, setFormProblem] = useState<string | null>(null);
  const fields = useFieldErrors();
  // This opening's intent to pay: a new card or check is saved once, and every retry sends the
  // same body under the same Idempotency-Key.
  const [attempt] = useState(() => new PaymentAttempt());
  // The last payment sent may have been taken (no answer, a 5xx): the form is held as it was
  // sent, so that only the same payment can be tried again. Or the API refused the key as
  // another request's: nothing more is sent from this opening.
  const [held, setHeld] = useState<'unsure' | 'conflict' | null>(null);

  const payable = usePayableGateways(open && method === 'card');
  const offered = offeredCardGateways(payable.data ?? []);
  // The gateway picked, or the first offered: never one whose account is not set.
  const gateway =
    offered.find((option) => option.value === gatewayChoice)?.value ?? offered[0]?.value ?? null;
  const methods = useQuery({
    queryKey: ['payment-methods'],
    queryFn: ({ signal }) =>
      api<Web.Page<Web.PaymentMethod>>('/commerce/payment-methods', { signal, query: { limit: 200 } }),
    enabled: open && method === 'card',
    retry: false,
  });
  const cards = (methods.data?.data ?? []).filter(
    (saved) => saved.gateway === gateway && saved.type !== 'cash',
  );
  const showToken = method === 'card' && gateway !== null && takesCardToken(gateway) && !methodId;
  const shown: PaymentField[] = ['amount'];
  if (method === 'cash') shown.push('cash_tendered');
  if (method === 'check') shown.push('check_number');
  if (method === 'card' && gateway !== null) {
    shown.push('gateway');
    if (cards.length > 0) shown.push('saved_card');
    if (showToken) shown.push('card_token');
  }

  const contextOf = (intent: PaymentIntent): PaymentContext => ({
    currency: order.currency,
    gateway: intent.request.gateway,
    tender: method,
    hasSavedCards: cards.length > 0,
  });
  const pay = useMutation({
    mutationFn: (intent: PaymentIntent) => attempt.submit(intent, paymentCalls),
    onSettled: () => setHeld(attempt.conflict ? 'conflict' : attempt.unsure ? 'unsure' : null),
    onSuccess: async (payment) => {
      setResult(payment);
      await paymentChanged(queryClient, order.id);
    },
    onError: async (error, intent) => {
      const context = contextOf(intent);
      const placed = placePaymentErrors(error, shown, context);
      const onFields = !fields.check(placed.fields);
      setFormProblem(placed.form ?? (onFields ? null : paymentErrorMessage(error, context)));
      // It may have been taken: the order's payments show what the API knows of it.
      if (keyOutcome(error) !== 'done') await paymentChanged(queryClient, order.id);
    },
  });

  const amountMinor = parseMoney(amount, order.currency);
  const tenderedMinor = parseMoney(tendered, order.currency);
  const change = amountMinor !== null && tenderedMinor !== null ? tenderedMinor - amountMinor : null;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (held === 'conflict') return;
    if (held === 'unsure' && pay.variables) {
      pay.mutate(pay.variables);
      return;
    }
    setFormProblem(null);
    const found = paymentFormProblems({
      tender: method,
      currency: order.currency,
      due,
      amount: amountMinor,
      tenderedText: tendered,
      tendered: tenderedMinor,
      gateway,
      savedCardId: methodId,
      cardToken,
      hasSavedCards: cards.length > 0,
    });
    if (!fields.check(found) || amountMinor === null) return;
    const base = { order_id: order.id, amount: amountMinor, currency: order.currency };
    if (method === 'cash') {
      pay.mutate({
        request: {
          ...base,
          gateway: 'manual',
          ...(tenderedMinor !== null ? { cash_tendered: tenderedMinor } : {}),
        },
      });
    } else if (method === 'check') {
      pay.mutate({
        request: { ...base, gateway: 'manual' },
        newMethod: {
          gateway: 'manual',
          type: 'check',
          ...(checkNumber.trim() ? { label: `Check ${checkNumber.trim()}` } : {}),
        },
      });
    } else if (gateway !== null) {
      pay.mutate({
        request: { ...base, gateway, capture, ...(methodId ? { payment_method_id: methodId } : {}) },
        ...(showToken ? { newMethod: { gateway, type: 'card', gateway_token: cardToken.trim() } } : {}),
      });
    }
  };
  const outcome = result ? paymentOutcome(result) : null;
  // Cards need a gateway set up for the business; until one is known there is nothing to charge.
  const canSubmit = method !== 'card' || gateway !== null;

  const close = () => {
    setResult(null);
    setFormProblem(null);
    pay.reset();
    onClose();
  };

  return (
    <Dialog title={`Take payment for order #${order.number}`} open={open} onClose={close}>
      {result && outcome ? (
        <div className="payment-result" role="status">
          <p
            className={
              outcome.tone === 'error' || outcome.tone === 'warning'
                ? `alert alert-${outcome.tone}`
                : undefined
            }
          >
            {outcome.text}
            {outcome.showAmount && (
              <>
                : <Money amount={result.amount} currency={result.currency} />
              </>
            )}
          </p>
          {result.change_due !== null && result.change_due !== undefined && (
            <p className="change-due">
              Change due: <strong>{formatMoney(result.change_due, result.currency)}</strong>
            </p>
          )}
          <NextAction payment={result} />
          <Button onClick={close}>Done</Button>
        </div>
      ) : (
        <form onSubmit={onSubmit} noValidate className="form">
          <p>
            Due: <Money amount={due} currency={order.currency} />
          </p>
          {/* Held as sent while the payment is under way or its outcome is unsure. */}
          <fieldset className="plain-fieldset" disabled={pay.isPending || held !== null}>
            <legend className="visually-hidden">Payment details</legend>
            <fieldset className="segmented">
              <legend>Method</legend>
              {TENDERS.map((tender) => (
                <label key={tender.value}>
                  <input
                    type="radio"
                    name="method"
                    value={tender.value}
                    checked={method === tender.value}
                    onChange={() => setMethod(tender.value)}
                  />{' '}
                  {tender.label}
                </label>
              ))}
            </fieldset>
            <TextField
              label={`Amount (${order.currency})`}
              inputMode="decimal"
              value={amount}
              error={fields.errors.amount}
              onChange={(e) => {
                setAmount(e.target.value);
                fields.clear('amount');
              }}
            />
            {method === 'cash' && (
              <>
                <TextField
                  label={`Cash handed over (${order.currency}, optional)`}
                  inputMode="decimal"
                  value={tendered}
                  error={fields.errors.cash_tendered}
                  onChange={(e) => {
                    setTendered(e.target.value);
                    fields.clear('cash_tendered');
                  }}
                />
                {change !== null && change >= 0 && (
                  <p className="change-due" aria-live="polite">
                    Change due: <strong>{formatMoney(change, order.currency)}</strong>
                  </p>
                )}
              </>
            )}
            {method === 'check' && (
              <TextField
                label="Check number (optional)"
                maxLength={CHECK_NUMBER_MAX}
                value={checkNumber}
                error={fields.errors.check_number}
                onChange={(e) => {
                  setCheckNumber(e.target.value);
                  fields.clear('check_number');
                }}
              />
            )}
            {method === 'card' &&
              (payable.isPending ? (
                <Loading label="Finding the card gateways set up for this business…" />
              ) : payable.isError ? (
                <ErrorState error={payable.error} retry={() => void payable.refetch()} />
              ) : gateway === null ? (
                <p className="alert alert-info" role="status">
                  {NO_CARD_GATEWAY}
                </p>
              ) : (
                <>
                  <CardGatewaySelect
                    value={gateway}
                    options={offered}
                    error={fields.errors.gateway}
                    onChange={(next) => {
                      setGatewayChoice(next);
                      setMethodId('');
                    }}
                  />
                  {cards.length > 0 && (
                    <SelectField
                      label="Saved card"
                      value={methodId}
                      onChange={(e) => {
                        setMethodId(e.target.value);
                        fields.clear('saved_card');
                      }}
                      error={fields.errors.saved_card}
                    >
                      <option value="">None: use a new card token</option>
                      {cards.map((card) => (
                        <option key={card.id} value={card.id}>
                          {card.label ?? `${card.brand ?? 'Card'} •••• ${card.last4 ?? '????'}`}
                        </option>
                      ))}
                    </SelectField>
                  )}
                  {showToken && (
                    <TextField
                      label={`Card token from ${gatewayName(gateway)}`}
                      hint={`Card numbers never reach Tessera: ${gatewayName(gateway)}'s card reader or payment form gives this token.`}
                      value={cardToken}
                      error={fields.errors.card_token}
                      onChange={(e) => {
                        setCardToken(e.target.value);
                        fields.clear('card_token');
                      }}
                    />
                  )}
                  <label className="checkbox">
                    <input
                      type="checkbox"
                      checked={!capture}
                      onChange={(e) => setCapture(!e.target.checked)}
                    />
                    Authorize only (capture later)
                  </label>
                </>
              ))}
          </fieldset>
          {formProblem && <FormError error={new Error(formProblem)} />}
          <div className="actions">
            {canSubmit && (
              <Button type="submit" busy={pay.isPending} disabled={held === 'conflict'}>
                {held === 'unsure'
                  ? 'Try again'
                  : method === 'cash'
                    ? 'Take cash'
                    : method === 'check'
                      ? 'Record check'
                      : capture
                        ? 'Charge card'
                        : 'Authorize card'}
              </Button>
            )}
            <Button variant="ghost" onClick={close}>
              Cancel
            </Button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** Capture (all or part of) an authorization, or void it. */
export function AuthorizationActions({ payment }: { payment: Web.Payment }) {
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState(
    minorToInput(payment.amount_authorized || payment.amount, payment.currency),
  );
  const fields = useFieldErrors();
  const captureKey = useIdempotencyKey();
  const voidKey = useIdempotencyKey();
  const capture = useMutation({
    mutationFn: (body: { amount: number }) =>
      api<Web.Payment>(`/commerce/payments/${payment.id}/capture`, {
        method: 'POST',
        body,
        idempotencyKey: captureKey.keyFor(body),
      }),
    onSettled: (_payment, error) => captureKey.settle(error),
    onSuccess: () => paymentChanged(queryClient, payment.order_id),
    onError: (error) => fields.fromApi(error, ['amount']),
  });
  const voidIt = useMutation({
    mutationFn: () =>
      api<Web.Payment>(`/commerce/payments/${payment.id}/void`, {
        method: 'POST',
        idempotencyKey: voidKey.keyFor({ void: payment.id }),
      }),
    onSettled: (_payment, error) => voidKey.settle(error),
    onSuccess: () => paymentChanged(queryClient, payment.order_id),
  });
  if (payment.status !== 'authorized' && payment.status !== 'pending') return null;
  // A capture PayPal holds for review can take days: the list says why there is nothing to press.
  if (payment.pending_operation)
    return (
      <p className="muted" role="status">
        {label(payment.gateway)} has not finished the {payment.pending_operation} yet; the payment changes
        when it does.
      </p>
    );
  const onCapture = (event: FormEvent) => {
    event.preventDefault();
    const minor = parseMoney(amount, payment.currency);
    const limit = payment.amount_authorized || payment.amount;
    if (minor === null || minor <= 0 || minor > limit) {
      fields.check({ amount: `Enter an amount up to ${formatMoney(limit, payment.currency)}.` });
      return;
    }
    if (fields.check({})) capture.mutate({ amount: minor });
  };
  return (
    <div className="inline-actions">
      {payment.status === 'authorized' && (
        <form onSubmit={onCapture} noValidate className="inline-form">
          <TextField
            label={`Capture amount (${payment.currency})`}
            inputMode="decimal"
            value={amount}
            error={fields.errors.amount}
            onChange={(e) => setAmount(e.target.value)}
          />
          <Button type="submit" variant="secondary" busy={capture.isPending}>
            Capture
          </Button>
        </form>
      )}
      <Button variant="danger" busy={voidIt.isPending} onClick={() => voidIt.mutate()}>
        Void
      </Button>
      {capture.isError && !fields.errors.amount && <FormError error={capture.error} />}
      {voidIt.isError && <FormError error={voidIt.error} />}
    </div>
  );
}

/** Ask for a refund of (part of) a captured payment; someone with write:refunds processes it. */
export function RequestRefund({ payment }: { payment: Web.Payment }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const refundable = payment.amount_captured - payment.amount_refunded;
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const fields = useFieldErrors();
  const idempotency = useIdempotencyKey();
  const request = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<Web.Refund>('/commerce/refunds', {
        method: 'POST',
        body,
        idempotencyKey: idempotency.keyFor(body),
      }),
    onSettled: (_refund, error) => idempotency.settle(error),
    onSuccess: async () => {
      setOpen(false);
      await paymentChanged(queryClient, payment.order_id);
    },
    onError: (error) => fields.fromApi(error, ['amount', 'reason'], { refund_exceeds_captured: 'amount' }),
  });
  if (refundable <= 0) return null;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const minor = parseMoney(amount, payment.currency);
    if (minor === null || minor <= 0 || minor > refundable) {
      fields.check({ amount: `Enter an amount up to ${formatMoney(refundable, payment.currency)}.` });
      return;
    }
    if (fields.check({}))
      request.mutate({
        payment_id: payment.id,
        amount: minor,
        ...(reason.trim() ? { reason: reason.trim() } : {}),
      });
  };
  return (
    <>
      <Button
        variant="secondary"
        onClick={() => {
          // What is refundable now: the payment may have been captured since this first rendered.
          setAmount(minorToInput(refundable, payment.currency));
          setOpen(true);
        }}
      >
        Request refund
      </Button>
      <Dialog title="Request a refund" open={open} onClose={() => setOpen(false)}>
        <form onSubmit={onSubmit} noValidate className="form">
          <p>
            Up to <Money amount={refundable} currency={payment.currency} /> can be refunded.
          </p>
          <TextField
            label={`Amount (${payment.currency})`}
            inputMode="decimal"
            value={amount}
            error={fields.errors.amount}
            onChange={(e) => {
              setAmount(e.target.value);
              fields.clear('amount');
            }}
          />
          <TextField
            label="Reason (optional)"
            value={reason}
            error={fields.errors.reason}
            onChange={(e) => setReason(e.target.value)}
          />
          {request.isError && Object.keys(fields.errors).length === 0 && <FormError error={request.error} />}
          <div className="actions">
            <Button type="submit" busy={request.isPending}>
              Request refund
            </Button>
            <Button variant="ghost" onClick={() => setOpen(false)}>
              Cancel
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
