import { createHash } from 'node:crypto';
import {
  isUuid,
  uuidv7,
  type EventActor,
  type Gateway,
  type PaymentEventData,
  type PaymentStatus,
  type RefundEventData,
} from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../platform/config';
import { resealRows, type SecretBox } from '../../platform/crypto';
import type { DB } from '../../platform/db/tables';
import {
  transactionHooks,
  withSystem,
  withTenant,
  withTenantRead,
  type TenantRead,
  type Tx,
} from '../../platform/db/tenant';
import { AppError, notFound } from '../../platform/errors';
import { addEvents, SYSTEM_ACTOR, userActor, type NewEvent } from '../../platform/events/outbox';
import { csvExport, csvPages, zonedTimestamp, type CsvExport } from '../../platform/http/csv';
import { decodeCursor, Uuid } from '../../platform/http/schemas';
import { formatMinorUnits } from '../../platform/money';
import type { OrdersService } from '../orders';
import {
  createGateway,
  GatewayDeclined,
  GatewayUnknown,
  InvalidWebhookSignature,
  PayPalGateway,
  SquareGateway,
  type AdapterOptions,
  type CreatePaymentRequest,
  type GatewayCredentials,
  type GatewayPayment,
  type GatewayReference,
  type GatewayRefund,
  type GatewayRefundChange,
  type GatewayWebhookEvent,
  type PaymentGateway,
  type WebhookDelivery,
} from './gateways';
import type { DisputesService } from './disputes';
import { isKnownCurrency } from './money';
import { page, PAGE } from './paging';
import {
  paymentsRepository as repo,
  type ConfigurableGateway,
  type MethodRow,
  type PaymentPatch,
  type PaymentRow,
  type ReconciliationResult,
  type ReconciliationRow,
  type RefundRow,
  type PendingOperation,
  type TransactionKind,
  type TransactionRow,
} from './repository';
import type {
  CreateMethodBody,
  CreatePaymentBody,
  CreateRefundBody,
  GatewaySettingsBody,
  GatewaySettingsView,
  ListedPayment,
  ListedRefund,
  PayableGateway,
  Payment,
  PaymentDetail,
  PaymentListQuery,
  PaymentMethod,
  PaymentSummary,
  ReconcileBody,
  ReconciliationItem,
  ReconciliationQuery,
  ReconciliationRun,
  Refund,
  RefundListQuery,
  UpdateMethodBody,
} from './schemas';
import { assertPaymentMove, canMovePayment, statusAfterRefunds } from './state-machine';

/**
 * How a gateway operation (a payment's creation, capture or void) is tied to the Idempotency-Key
 * of the request that asks for it, so that a retry finishes what a failed attempt began.
 */
export interface OperationAttempt {
  /** Called in the operation's first transaction with the gateway call it recorded. */
  began?: (tx: Tx, transactionId: string) => Promise<void>;
  /** The gateway call an earlier attempt of this same request began and never answered for. */
  resumes?: string | null;
}

export interface PaymentAttempt extends OperationAttempt {
  /**
   * Called with the answer inside the payment's transaction when that transaction is the whole
   * payment (cash and checks: no gateway to call), so that the key completes with the work.
   */
  recordAnswer?: (tx: Tx, answer: Payment) => Promise<void>;
}

/** Who acts: the tenant, and the user (null for the system: webhooks, the reconciler, consumers). */
export interface Caller {
  tenantId: string;
  userId: string | null;
}

type CallOutcome<T> =
  | { kind: 'ok'; value: T; latency: number }
  | { kind: 'declined'; error: GatewayDeclined; latency: number }
  | { kind: 'unknown'; error: Error; latency: number };

type PaymentOperation = 'create' | 'capture' | 'void' | 'confirm';

/** Which settings of each gateway are secret (sealed, never returned) and which are required. */
const GATEWAY_FIELDS: Record<ConfigurableGateway, { plain: string[]; secret: string[]; required: string[] }> =
  {
    stripe: { plain: ['api_base'], secret: ['secret_key', 'webhook_secret'], required: ['secret_key'] },
    square: {
      plain: ['api_base', 'location_id', 'device_id'],
      secret: ['access_token', 'webhook_signature_key'],
      required: ['access_token'],
    },
    paypal: {
      plain: ['api_base', 'client_id', 'webhook_id'],
      secret: ['client_secret'],
      required: ['client_id', 'client_secret'],
    },
  };

/**
 * The credential formats a gateway defines for certain: Stripe's secret keys (standard `sk_` or
 * restricted `rk_`, test or live mode) and its webhook signing secrets. Square's and PayPal's
 * credentials are opaque strings whose shape they do not promise: their first call tells.
 */
const CREDENTIAL_FORMATS: Partial<
  Record<
    ConfigurableGateway,
    Partial<Record<keyof GatewaySettingsBody, { pattern: RegExp; message: string }>>
  >
> = {
  stripe: {
    secret_key: {
      pattern: /^[rs]k_(test|live)_\S+$/,
      message: 'must be a Stripe secret key: sk_live_, sk_test_, rk_live_ or rk_test_ and the rest',
    },
    webhook_secret: {
      pattern: /^whsec_\S+$/,
      message: 'must be a Stripe webhook signing secret: whsec_ and the rest',
    },
  },
};

/** The fields of a gateway's settings that are not in the format the gateway defines for them. */
function credentialFormatErrors(
  account: ConfigurableGateway,
  body: GatewaySettingsBody,
): { path: string; message: string }[] {
  return Object.entries(CREDENTIAL_FORMATS[account] ?? {}).flatMap(([field, format]) => {
    const value = body[field as keyof GatewaySettingsBody];
    return value !== undefined && !format.pattern.test(value)
      ? [{ path: field, message: format.message }]
      : [];
  });
}

const accountOf = (gateway: Gateway): ConfigurableGateway | null =>
  gateway === 'manual' ? null : gateway === 'square_terminal' ? 'square' : gateway;

const PAYMENT_EXPORT_COLUMNS = [
  'made_at',
  'order_number',
  'gateway',
  'status',
  'currency',
  'amount',
  'captured',
  'refunded',
  'change_due',
  'gateway_reference',
  'failure_code',
  'payment_id',
];

/**
 * How far beyond a reconciled period the gateway's records are read. A gateway stamps a payment a
 * moment after we record it (its call follows our insert), some in whole seconds, so a payment of
 * the period's last moments may carry a gateway time just after it.
 */
const RECONCILE_MARGIN_MS = 5 * 60_000;

/** How long an unknown outcome of a Square create is retried before the payment is cancelled by key. */
const GIVE_UP_AFTER_MS = 60 * 60 * 1000;
/**
 * A gateway call still `pending` this long after its last attempt began was abandoned: its process
 * died during it (a live one settles it within the gateway timeout). The reconciler then resends it.
 */
const ABANDONED_AFTER_MS = 5 * 60 * 1000;

const fingerprint = (request: unknown): string =>
  createHash('sha256').update(JSON.stringify(request)).digest('hex');
const actorOf = (caller: Caller): EventActor => (caller.userId ? userActor(caller.userId) : SYSTEM_ACTOR);
const iso = (date: Date | string): string => new Date(date).toISOString();
/** The gateway idempotency key every attempt of a refund is sent under: the gateway refunds it once. */
const refundKey = (refundId: string): string => `refund:${refundId}`;
const referenceOf = (payment: PaymentRow): GatewayReference => ({
  ...payment.gateway_data,
  id: payment.gateway_reference ?? '',
});

/**
 * Whether a gateway answered a capture with "pending": the payment was authorized (or its capture
 * timed out), and the gateway holds the capture without having moved the money.
 */
function isCaptureHeld(payment: PaymentRow, result: GatewayPayment): boolean {
  if (result.status !== 'pending') return false;
  return (
    payment.status === 'authorized' ||
    (payment.status === 'unknown' && payment.pending_operation === 'capture')
  );
}

function validation(path: string, message: string): AppError {
  return new AppError('validation_failed', `${path} ${message}`, { errors: [{ path, message }] });
}

export function toPaymentDto(row: PaymentRow): Payment {
  return {
    id: row.id,
    order_id: row.order_id,
    gateway: row.gateway,
    payment_method_id: row.payment_method_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    capture: row.capture,
    amount_authorized: row.amount_authorized,
    amount_captured: row.amount_captured,
    amount_refunded: row.amount_refunded,
    gateway_reference: row.gateway_reference,
    next_action: row.next_action ?? null,
    pending_operation: row.pending_operation,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    change_due: row.change_due,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function toRefundDto(row: RefundRow): Refund {
  return {
    id: row.id,
    payment_id: row.payment_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    reason: row.reason,
    gateway_reference: row.gateway_reference,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    processed_at: row.processed_at ? iso(row.processed_at) : null,
  };
}

function toMethodDto(row: MethodRow): PaymentMethod {
  return {
    id: row.id,
    gateway: row.gateway,
    type: row.type,
    brand: row.brand,
    last4: row.last4,
    exp_month: row.exp_month,
    exp_year: row.exp_year,
    label: row.label,
    is_default: row.is_default,
    created_at: iso(row.created_at),
  };
}

/** The 402 for a capture or void the gateway refused, first answered or resumed alike. */
function declinedBy(operation: PaymentOperation, refusal: { code: string; message: string }): AppError {
  return new AppError('payment_declined', `The gateway refused the ${operation}: ${refusal.message}`, {
    extensions: { failure_code: refusal.code },
  });
}

function toTransactionDto(row: TransactionRow): PaymentDetail['transactions'][number] {
  return {
    id: row.id,
    kind: row.kind,
    amount: row.amount,
    currency: row.currency,
    gateway_reference: row.gateway_reference,
    idempotency_key: row.idempotency_key,
    outcome: row.outcome,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    latency_ms: row.latency_ms,
    attempts: row.attempts,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function toReconciliationDto(row: ReconciliationRow): ReconciliationItem {
  return {
    id: row.id,
    run_id: row.run_id,
    gateway: row.gateway,
    result: row.result,
    payment_id: row.payment_id,
    gateway_reference: row.gateway_reference,
    currency: row.currency,
    local_amount: row.local_amount,
    gateway_amount: row.gateway_amount,
    local_refunded: row.local_refunded,
    gateway_refunded: row.gateway_refunded,
    local_status: row.local_status,
    gateway_status: row.gateway_status,
    period_from: iso(row.period_from),
    period_to: iso(row.period_to),
    created_at: iso(row.created_at),
  };
}

function eventData(row: PaymentRow): PaymentEventData {
  return {
    payment_id: row.id,
    order_id: row.order_id,
    gateway: row.gateway,
    status: row.status,
    amount: row.amount,
    amount_captured: row.amount_captured,
    amount_refunded: row.amount_refunded,
    currency: row.currency,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
  };
}

function refundEventData(refund: RefundRow, payment: PaymentRow): RefundEventData {
  return {
    refund_id: refund.id,
    payment_id: payment.id,
    order_id: payment.order_id,
    gateway: payment.gateway,
    status: refund.status,
    amount: refund.amount,
    currency: refund.currency,
    reason: refund.reason,
  };
}

async function call<T>(work: () => Promise<T>): Promise<CallOutcome<T>> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  try {
    const value = await work();
    return { kind: 'ok', value, latency: latency() };
  } catch (error) {
    if (error instanceof GatewayDeclined) return { kind: 'declined', error, latency: latency() };
    // Anything else (timeout, reset, 5xx, a surprise) leaves the outcome unknown: never assume no charge.
    return {
      kind: 'unknown',
      error: error instanceof Error ? error : new GatewayUnknown(String(error)),
      latency: latency(),
    };
  }
}

/**
 * Payments, refunds, payment methods and gateway accounts. Every gateway call happens between two
 * short transactions: the first records the attempt (with its own idempotency key), the second
 * settles it. A call whose outcome is unknown leaves the payment `unknown` for the reconciler,
 * which resends the very same request under the same key.
 */
/**
 * The reconciler's loops: `work` on each item in turn, counting those it reports done; a failure is
 * reported to `failed` and the loop goes on, since one payment must not hold back the others.
 */
async function countSucceeded<T>(
  items: T[],
  work: (item: T) => Promise<boolean>,
  failed: (item: T, error: unknown) => void,
): Promise<number> {
  let done = 0;
  for (const item of items) {
    try {
      if (await work(item)) done += 1;
    } catch (error) {
      failed(item, error);
    }
  }
  return done;
}

export class PaymentsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly config: Config,
    private readonly secrets: SecretBox,
    private readonly orders: OrdersService,
    private readonly logger: Logger,
    private readonly disputes: DisputesService,
  ) {}

  // ---- gateway accounts ---------------------------------------------------------------------

  private environmentCredentials(account: ConfigurableGateway): GatewayCredentials {
    const c = this.config;
    switch (account) {
      case 'stripe':
        return {
          api_base: c.STRIPE_API_BASE,
          secret_key: c.STRIPE_SECRET_KEY,
          webhook_secret: c.STRIPE_WEBHOOK_SECRET,
        };
      case 'square':
        return {
          api_base: c.SQUARE_API_BASE,
          access_token: c.SQUARE_ACCESS_TOKEN,
          location_id: c.SQUARE_LOCATION_ID,
          device_id: c.SQUARE_DEVICE_ID,
          webhook_signature_key: c.SQUARE_WEBHOOK_SIGNATURE_KEY,
        };
      case 'paypal':
        return {
          api_base: c.PAYPAL_API_BASE,
          client_id: c.PAYPAL_CLIENT_ID,
          client_secret: c.PAYPAL_CLIENT_SECRET,
          webhook_id: c.PAYPAL_WEBHOOK_ID,
        };
    }
  }

  /** Seals every tenant's gateway secrets under the current master key; answers how many moved. */
  async resealGatewaySecrets(): Promise<number> {
    return withSystem(this.db, async (tx) =>
      resealRows(
        this.secrets,
        await repo.sealedSettingsOfAllTenants(tx),
        (row) => ({ sealed: row.secrets_sealed, associatedData: this.sealedFor(row.tenant_id, row.gateway) }),
        (row, sealed) => repo.setSecretsSealed(tx, row.tenant_id, row.gateway, sealed),
      ),
    );
  }

  private sealedFor(tenantId: string, account: ConfigurableGateway): string {
    return `payment-gateway:${tenantId}:${account}`;
  }

  /**
   * The tenant's own account, or else the environment's (which serves development). An account of
   * the tenant's stands alone: of the environment's values only the API base (a sandbox, a local
   * test server) fills in for one it leaves out; a secret or an id never does, or a merchant who
   * left out a webhook secret would have its webhooks checked with the platform's.
   */
  private async credentials(tx: Tx, tenantId: string, account: ConfigurableGateway) {
    const environment = Object.fromEntries(
      Object.entries(this.environmentCredentials(account)).filter(([, value]) => value !== undefined),
    ) as GatewayCredentials;
    const row = await repo.settings(tx, account);
    if (!row) {
      const configured = GATEWAY_FIELDS[account].required.every(
        (field) => environment[field as keyof GatewayCredentials],
      );
      return { credentials: environment, source: configured ? ('environment' as const) : null, row: null };
    }
    const secrets = JSON.parse(
      this.secrets.open(row.secrets_sealed, this.sealedFor(tenantId, account)),
    ) as GatewayCredentials;
    const base = environment.api_base ? { api_base: environment.api_base } : {};
    return { credentials: { ...base, ...row.settings, ...secrets }, source: 'tenant' as const, row };
  }

  private adapterOptions(credentials: GatewayCredentials): AdapterOptions {
    return { credentials, timeoutMs: this.config.GATEWAY_TIMEOUT_MS, publicUrl: this.config.PUBLIC_URL };
  }

  private async adapter(tx: Tx, tenantId: string, gateway: Gateway): Promise<PaymentGateway> {
    const account = accountOf(gateway);
    if (!account) return createGateway('manual', this.adapterOptions({}));
    const { credentials, source } = await this.credentials(tx, tenantId, account);
    if (!source) throw new AppError('gateway_not_configured', `${gateway} is not configured for this tenant`);
    return createGateway(gateway, this.adapterOptions(credentials));
  }

  /**
   * Which gateways can take a payment now, for whoever takes payments (the accounts' settings are
   * the administrators'): a card gateway whose account is set, a Square Terminal where Square's
   * account names its device, and cash and checks always.
   */
  async payableGateways(tenantId: string): Promise<{ data: PayableGateway[] }> {
    return withTenantRead(this.db, tenantId, async (tx) => {
      const [stripe, square, paypal] = await Promise.all(
        (['stripe', 'square', 'paypal'] as const).map((account) => this.credentials(tx, tenantId, account)),
      );
      return {
        data: [
          { gateway: 'stripe', configured: stripe!.source !== null },
          { gateway: 'square', configured: square!.source !== null },
          {
            gateway: 'square_terminal',
            configured: square!.source !== null && Boolean(square!.credentials.device_id),
          },
          { gateway: 'paypal', configured: paypal!.source !== null },
          { gateway: 'manual', configured: true },
        ],
      };
    });
  }

  async listGatewaySettings(tenantId: string): Promise<{ data: GatewaySettingsView[] }> {
    return withTenantRead(this.db, tenantId, async (tx) => ({
      data: await Promise.all(
        (['stripe', 'square', 'paypal'] as const).map(async (account) =>
          this.settingsView(tx, tenantId, account),
        ),
      ),
    }));
  }

  private async settingsView(
    tx: Tx,
    tenantId: string,
    account: ConfigurableGateway,
  ): Promise<GatewaySettingsView> {
    const { credentials, source, row } = await this.credentials(tx, tenantId, account);
    const fields = GATEWAY_FIELDS[account];
    const settings: Record<string, string> = {};
    for (const field of fields.plain) {
      const value = credentials[field as keyof GatewayCredentials];
      if (value) settings[field] = value;
    }
    return {
      gateway: account,
      configured: source !== null,
      source,
      settings,
      secrets_set: fields.secret.filter((field) => credentials[field as keyof GatewayCredentials]),
      updated_at: row ? iso(row.updated_at) : null,
    };
  }

  /**
   * Stores the tenant's own account of a gateway. Its settings are those given; a secret left out
   * (or empty) keeps the one stored, so a form can show secrets as "stored" without sending them
   * back. To drop a secret, remove the account and set it again.
   */
  async putGatewaySettings(
    tenantId: string,
    account: ConfigurableGateway,
    body: GatewaySettingsBody,
  ): Promise<GatewaySettingsView> {
    const fields = GATEWAY_FIELDS[account];
    const allowed = new Set([...fields.plain, ...fields.secret]);
    const refused = [
      ...Object.keys(body)
        .filter((field) => !allowed.has(field))
        .map((field) => ({ path: field, message: `is not a ${account} setting` })),
      ...credentialFormatErrors(account, body),
    ];
    if (refused.length)
      throw new AppError('validation_failed', `Invalid ${account} settings`, { errors: refused });
    const pick = (names: string[]) =>
      Object.fromEntries(
        names.flatMap((name) => {
          const value = body[name as keyof GatewaySettingsBody];
          return value ? [[name, value]] : [];
        }),
      ) as Record<string, string>;
    return withTenant(this.db, tenantId, async (tx) => {
      const stored = await repo.settings(tx, account, { forUpdate: true });
      const secrets = {
        ...(stored
          ? (JSON.parse(
              this.secrets.open(stored.secrets_sealed, this.sealedFor(tenantId, account)),
            ) as Record<string, string>)
          : {}),
        ...pick(fields.secret),
      };
      const settings = pick(fields.plain);
      const missing = fields.required.filter((field) => !settings[field] && !secrets[field]);
      if (missing.length) {
        throw new AppError('validation_failed', `Invalid ${account} settings`, {
          errors: missing.map((field) => ({ path: field, message: 'is required' })),
        });
      }
      await repo.saveSettings(tx, {
        tenant_id: tenantId,
        gateway: account,
        settings,
        secrets_sealed: this.secrets.seal(JSON.stringify(secrets), this.sealedFor(tenantId, account)),
      });
      return this.settingsView(tx, tenantId, account);
    });
  }

  /**
   * Removes the tenant's own account of a gateway, its settings and sealed secrets: the gateway
   * falls back to the environment's account where there is one, and is not configured otherwise.
   * 404 when the tenant has none stored.
   */
  async deleteGatewaySettings(tenantId: string, account: ConfigurableGateway): Promise<void> {
    await withTenant(this.db, tenantId, async (tx) => {
      if (!(await repo.deleteSettings(tx, account))) throw notFound('gateway account');
    });
  }

  // ---- payment methods ----------------------------------------------------------------------

  /** Stores a method; `recordAnswer` completes the request's Idempotency-Key in the same transaction. */
  async createMethod(
    caller: Caller,
    body: CreateMethodBody,
    recordAnswer?: (tx: Tx, answer: PaymentMethod) => Promise<void>,
  ): Promise<PaymentMethod> {
    const cashLike = body.type === 'cash' || body.type === 'check';
    if (cashLike !== (body.gateway === 'manual')) {
      throw validation(
        'type',
        cashLike
          ? 'cash and check go with the manual gateway'
          : `${body.type} needs a card or PayPal gateway`,
      );
    }
    if (body.type === 'card' && !body.gateway_token)
      throw validation('gateway_token', "is required for a card (the gateway's token)");
    if (body.type === 'paypal' && body.gateway !== 'paypal')
      throw validation('gateway', 'must be paypal for a PayPal method');
    const adapter = await withTenant(this.db, caller.tenantId, (tx) =>
      this.adapter(tx, caller.tenantId, body.gateway),
    );
    // Card data never reaches us: brand and last4 come back from the gateway for its token.
    const card =
      body.type === 'card' && body.gateway_token
        ? await call(() => adapter.fetchPaymentMethod(body.gateway_token!))
        : null;
    if (card?.kind === 'declined')
      throw validation('gateway_token', `was refused by ${body.gateway}: ${card.error.message}`);
    if (card?.kind === 'unknown')
      throw new AppError('gateway_error', `${body.gateway} did not answer: ${card.error.message}`);
    const details = card?.kind === 'ok' ? card.value : null;
    return withTenant(this.db, caller.tenantId, async (tx) => {
      const method = toMethodDto(
        await repo.insertMethod(tx, {
          id: uuidv7(),
          tenant_id: caller.tenantId,
          gateway: body.gateway,
          type: body.type,
          gateway_token: body.gateway_token ?? null,
          brand: details?.brand ?? null,
          last4: details?.last4 ?? null,
          exp_month: details?.exp_month ?? null,
          exp_year: details?.exp_year ?? null,
          label: body.label ?? null,
          is_default: body.is_default ?? false,
        }),
      );
      await recordAnswer?.(tx, method);
      return method;
    });
  }

  async listMethods(tenantId: string, query: { limit?: number | undefined; cursor?: string | undefined }) {
    const limit = query.limit ?? PAGE;
    const rows = await withTenantRead(this.db, tenantId, (tx) =>
      repo.methods(tx, limit, decodeCursor(query.cursor, Uuid)),
    );
    return page(rows, limit, toMethodDto);
  }

  async getMethod(tenantId: string, id: string): Promise<PaymentMethod> {
    const row = await withTenantRead(this.db, tenantId, (tx) => repo.method(tx, id));
    if (!row) throw notFound('payment method');
    return toMethodDto(row);
  }

  async updateMethod(tenantId: string, id: string, body: UpdateMethodBody): Promise<PaymentMethod> {
    const row = await withTenant(this.db, tenantId, (tx) => repo.updateMethod(tx, id, body));
    if (!row) throw notFound('payment method');
    return toMethodDto(row);
  }

  async deleteMethod(tenantId: string, id: string): Promise<void> {
    const deleted = await withTenant(this.db, tenantId, (tx) => repo.deleteMethod(tx, id));
    if (!deleted) throw notFound('payment method');
  }

  // ---- payments -----------------------------------------------------------------------------

  /**
   * Takes a payment. `attempt` ties it to the route's Idempotency-Key: a resumed attempt finishes
   * the payment the first one began instead of taking a second one (a second charge).
   */
  async createPayment(
    caller: Caller,
    input: CreatePaymentBody,
    attempt: PaymentAttempt = {},
  ): Promise<Payment> {
    const resumed = attempt.resumes ? await this.resumeCall(caller, attempt.resumes) : null;
    if (resumed) return toPaymentDto(resumed.payment);
    const capture = input.capture ?? true;
    if (!isKnownCurrency(input.currency)) throw validation('currency', 'is not an ISO 4217 currency');
    const manual = input.gateway === 'manual';
    if (manual && !capture) throw validation('capture', 'must be true: cash and checks complete at once');
    if (input.gateway === 'square_terminal' && !capture)
      throw validation('capture', 'must be true for Square Terminal');
    if (input.cash_tendered !== undefined && !manual) throw validation('cash_tendered', 'is only for cash');
    if (input.cash_tendered !== undefined && input.cash_tendered < input.amount) {
      throw validation('cash_tendered', 'must cover the amount');
    }
    const actor = actorOf(caller);
    const prepared = await withTenant(this.db, caller.tenantId, async (tx) => {
      const method = input.payment_method_id ? await repo.method(tx, input.payment_method_id) : null;
      if (input.payment_method_id && !method) throw notFound('payment method');
      if (method && method.gateway !== input.gateway)
        throw validation('payment_method_id', `belongs to ${method.gateway}, not ${input.gateway}`);
      if ((input.gateway === 'stripe' || input.gateway === 'square') && !method?.gateway_token) {
        throw validation(
          'payment_method_id',
          `is required for ${input.gateway} (a card stored with its gateway token)`,
        );
      }
      if (input.cash_tendered !== undefined && method && method.type !== 'cash')
        throw validation('cash_tendered', 'is only for cash');
      // The order row is locked: concurrent payments of one order are taken one at a time.
      const order = await this.orders.getOrderForPayment(tx, input.order_id, { forUpdate: true });
      if (!order) throw notFound('order');
      if (order.currency !== input.currency) {
        throw new AppError('currency_mismatch', `The order is in ${order.currency}, not ${input.currency}`);
      }
      if (order.status !== 'pending') {
        throw new AppError('invalid_state_transition', `The order is ${order.status}; it takes no payment`);
      }
      const unpaid = order.total - (await repo.committedToOrder(tx, order.id));
      if (input.amount > unpaid) {
        throw new AppError('amount_exceeds_balance', `At most ${unpaid} of the order is left to pay`, {
          extensions: { unpaid },
        });
      }
      const adapter = await this.adapter(tx, caller.tenantId, input.gateway);
      const id = uuidv7();
      const kind: TransactionKind = capture ? 'charge' : 'authorize';
      // A call's key is its record's id: its own, and short enough for Square (45 characters at most).
      const transactionId = uuidv7();
      const request: CreatePaymentRequest = {
        amount: input.amount,
        currency: input.currency,
        capture,
        source: method?.gateway_token ?? null,
        paymentId: id,
        orderId: order.id,
        idempotencyKey: transactionId,
      };
      const gatewayReference = manual ? `manual_${id}` : null;
      const now = new Date();
      const row = await repo.insertPayment(
        tx,
        {
          id,
          tenant_id: caller.tenantId,
          order_id: order.id,
          gateway: input.gateway,
          payment_method_id: method?.id ?? null,
          amount: input.amount,
          currency: input.currency,
          status: manual ? 'completed' : 'pending',
          capture,
          amount_authorized: manual ? input.amount : 0,
          amount_captured: manual ? input.amount : 0,
          gateway_reference: gatewayReference,
          failure_code: null,
          failure_message: null,
          cash_tendered: input.cash_tendered ?? null,
          change_due: input.cash_tendered === undefined ? null : input.cash_tendered - input.amount,
          created_by: caller.userId,
          created_at: now,
          updated_at: now,
        },
        {
          id: transactionId,
          tenant_id: caller.tenantId,
          payment_id: id,
          refund_id: null,
          kind,
          amount: input.amount,
          currency: input.currency,
          idempotency_key: request.idempotencyKey,
          request_fingerprint: fingerprint(request),
          request: JSON.stringify(request),
          gateway_reference: gatewayReference,
          outcome: manual ? 'succeeded' : 'pending',
          latency_ms: manual ? 0 : null,
          created_at: now,
          updated_at: now,
        },
      );
      const data = eventData(row);
      const events: NewEvent[] = [{ type: 'payment.created', tenantId: caller.tenantId, actor, data }];
      if (manual) {
        // Cash in hand: captured and completed in the same transaction, nothing to call.
        events.push(
          { type: 'payment.captured', tenantId: caller.tenantId, actor, data },
          { type: 'payment.completed', tenantId: caller.tenantId, actor, data },
          { type: 'commerce.payment.processed', tenantId: caller.tenantId, actor, data },
        );
      }
      addEvents(tx, events);
      if (manual) await attempt.recordAnswer?.(tx, toPaymentDto(row));
      else await attempt.began?.(tx, transactionId);
      return { row, adapter, request, transactionId };
    });
    if (manual) return toPaymentDto(prepared.row);
    const outcome = await call(() => prepared.adapter.createPayment(prepared.request));
    return this.settlePayment(caller, prepared.row.id, prepared.transactionId, 'create', outcome);
  }

  /**
   * Finishes a gateway call an earlier attempt began: if it never settled (its process died during
   * it, or its second transaction failed) it is resent with its recorded request and key, so the
   * gateway answers with the first outcome. Returns the call and its payment as they now stand.
   */
  private async resumeCall(
    caller: Caller,
    transactionId: string,
  ): Promise<{ transaction: TransactionRow; payment: PaymentRow } | null> {
    const read = () =>
      withTenantRead(this.db, caller.tenantId, async (tx) => {
        const transaction = await repo.transaction(tx, transactionId);
        if (!transaction) return null;
        return { transaction, payment: (await repo.payment(tx, transaction.payment_id))! };
      });
    const before = await read();
    if (before?.transaction.outcome !== 'pending' && before?.transaction.outcome !== 'unknown') return before;
    await this.retryTransaction(caller, transactionId);
    return read();
  }

  /** The answer to a capture or void an earlier attempt began: the payment, or the gateway's refusal. */
  private async resumeOperation(
    caller: Caller,
    transactionId: string,
    operation: 'capture' | 'void',
  ): Promise<Payment | null> {
    const resumed = await this.resumeCall(caller, transactionId);
    if (!resumed) return null;
    if (resumed.transaction.outcome === 'declined') {
      const { failure_code: code, failure_message: message } = resumed.transaction;
      throw declinedBy(operation, { code: code ?? 'declined', message: message ?? code ?? 'declined' });
    }
    return toPaymentDto(resumed.payment);
  }

  async listPayments(tenantId: string, query: PaymentListQuery) {
    const limit = query.limit ?? PAGE;
    const { rows, numbers } = await withTenantRead(this.db, tenantId, async (tx) => {
      const rows = await repo.payments(
        tx,
        { order_id: query.order_id, status: query.status },
        limit,
        decodeCursor(query.cursor, Uuid),
      );
      return {
        rows,
        numbers: await this.orders.numbersOf(tx, [...new Set(rows.map((row) => row.order_id))]),
      };
    });
    return page(rows, limit, (row): ListedPayment => ({
      ...toPaymentDto(row),
      order_number: numbers.get(row.order_id)!,
    }));
  }

  /** The payments of each of these orders, newest first, in one read (GraphQL's loader). */
  async paymentsByOrder(tenantId: string, orderIds: readonly string[]): Promise<Map<string, Payment[]>> {
    const rows = await withTenantRead(this.db, tenantId, (tx) => repo.paymentsOfOrders(tx, orderIds));
    const byOrder = new Map<string, Payment[]>(orderIds.map((id) => [id, []]));
    for (const row of rows) byOrder.get(row.order_id)?.push(toPaymentDto(row));
    return byOrder;
  }

  async getPayment(tenantId: string, id: string): Promise<PaymentDetail> {
    return withTenantRead(this.db, tenantId, async (tx) => {
      const row = await repo.payment(tx, id);
      if (!row) throw notFound('payment');
      const numbers = await this.orders.numbersOf(tx, [row.order_id]);
      return {
        ...toPaymentDto(row),
        order_number: numbers.get(row.order_id)!,
        transactions: (await repo.transactions(tx, id)).map(toTransactionDto),
      };
    });
  }

  async capture(
    caller: Caller,
    id: string,
    amount: number | undefined,
    attempt: OperationAttempt = {},
  ): Promise<Payment> {
    const resumed = attempt.resumes ? await this.resumeOperation(caller, attempt.resumes, 'capture') : null;
    if (resumed) return resumed;
    const prepared = await withTenant(this.db, caller.tenantId, async (tx) => {
      const payment = await this.lockForOperation(tx, id, 'capture', ['authorized'], 'be captured');
      if ((await this.orders.cancelledAmong(tx, [payment.order_id])).has(payment.order_id)) {
        throw new AppError(
          'invalid_state_transition',
          'The order was cancelled: its authorization is voided, not captured',
        );
      }
      const toCapture = amount ?? payment.amount_authorized;
      if (toCapture > payment.amount_authorized) {
        throw new AppError(
          'amount_exceeds_authorized',
          `At most ${payment.amount_authorized} can be captured`,
        );
      }
      const adapter = await this.adapter(tx, caller.tenantId, payment.gateway);
      // A key of this attempt's own: under the key of one refused before, the gateway would answer
      // with that refusal again. A retry of this attempt resends it as recorded, key and all.
      const transactionId = uuidv7();
      const request = {
        reference: referenceOf(payment),
        amount: toCapture,
        currency: payment.currency,
        idempotencyKey: transactionId,
      };
      await this.recordAttempt(tx, payment, {
        id: transactionId,
        kind: 'capture',
        request,
        amount: toCapture,
      });
      await attempt.began?.(tx, transactionId);
      return { adapter, request, transactionId };
    });
    const outcome = await call(() => prepared.adapter.capture(prepared.request));
    return this.settlePayment(caller, id, prepared.transactionId, 'capture', outcome);
  }

  async void(caller: Caller, id: string, attempt: OperationAttempt = {}): Promise<Payment> {
    const resumed = attempt.resumes ? await this.resumeOperation(caller, attempt.resumes, 'void') : null;
    if (resumed) return resumed;
    const prepared = await withTenant(this.db, caller.tenantId, async (tx) => {
      const payment = await this.lockForOperation(tx, id, 'void', ['pending', 'authorized'], 'be voided');
      if (!payment.gateway_reference) {
        throw new AppError('conflict', 'The payment is still being created at the gateway; retry shortly');
      }
      const adapter = await this.adapter(tx, caller.tenantId, payment.gateway);
      const transactionId = uuidv7();
      const request = { reference: referenceOf(payment), idempotencyKey: transactionId };
      await this.recordAttempt(tx, payment, {
        id: transactionId,
        kind: 'void',
        request,
        amount: payment.amount_authorized,
      });
      await attempt.began?.(tx, transactionId);
      return { adapter, request, transactionId };
    });
    const outcome = await call(() => prepared.adapter.void(prepared.request));
    return this.settlePayment(caller, id, prepared.transactionId, 'void', outcome);
  }

  /** PayPal: once the buyer approved, authorize or capture the order per the payment's `capture`. */
  async confirmApproved(caller: Caller, id: string): Promise<Payment | null> {
    const prepared = await withTenant(this.db, caller.tenantId, async (tx) => {
      const payment = await repo.payment(tx, id, { forUpdate: true });
      if (!payment || payment.status !== 'pending' || payment.pending_operation || !payment.gateway_reference)
        return null;
      const adapter = await this.adapter(tx, caller.tenantId, payment.gateway);
      if (!(adapter instanceof PayPalGateway)) return null;
      const transactionId = uuidv7();
      const request = {
        reference: referenceOf(payment),
        capture: payment.capture,
        idempotencyKey: transactionId,
      };
      await repo.updatePayment(tx, id, { pending_operation: 'confirm' });
      await this.recordAttempt(tx, payment, {
        id: transactionId,
        kind: 'confirm',
        request,
        amount: payment.amount,
      });
      return { adapter, request, transactionId };
    });
    if (!prepared) return null;
    const { adapter, request } = prepared;
    const outcome = await call(() =>
      adapter.confirmApproved(request.reference, request.capture, request.idempotencyKey),
    );
    return this.settlePayment(caller, id, prepared.transactionId, 'confirm', outcome);
  }

  private async lockForOperation(
    tx: Tx,
    id: string,
    operation: PendingOperation,
    from: PaymentStatus[],
    action: string,
  ) {
    const payment = await repo.payment(tx, id, { forUpdate: true });
    if (!payment) throw notFound('payment');
    if (!from.includes(payment.status)) {
      throw new AppError('invalid_state_transition', `A ${payment.status} payment cannot ${action}`, {
        extensions: { payment_status: payment.status },
      });
    }
    if (payment.pending_operation) {
      throw new AppError('conflict', `A ${payment.pending_operation} of this payment is in progress`);
    }
    await repo.updatePayment(tx, id, { pending_operation: operation });
    return payment;
  }

  /**
   * Records a gateway call about to be sent, under its request's idempotency key; a call under a
   * key recorded before (a refund's next attempt) is that row again, pending once more. Answers
   * the row's id.
   */
  private async recordAttempt(
    tx: Tx,
    payment: PaymentRow,
    call: {
      id: string;
      kind: TransactionKind;
      request: { idempotencyKey: string };
      amount: number;
      refundId?: string;
    },
  ): Promise<string> {
    const now = new Date();
    const row = await repo.insertTransaction(tx, {
      id: call.id,
      tenant_id: payment.tenant_id,
      payment_id: payment.id,
      refund_id: call.refundId ?? null,
      kind: call.kind,
      amount: call.amount,
      currency: payment.currency,
      idempotency_key: call.request.idempotencyKey,
      request_fingerprint: fingerprint(call.request),
      request: JSON.stringify(call.request),
      gateway_reference: payment.gateway_reference,
      outcome: 'pending',
      created_at: now,
      updated_at: now,
    });
    return row.id;
  }

  /** The second transaction around a gateway call: records its outcome and moves the payment. */
  private async settlePayment(
    caller: Caller,
    id: string,
    transactionId: string,
    operation: PaymentOperation,
    outcome: CallOutcome<GatewayPayment>,
  ): Promise<Payment> {
    const actor = actorOf(caller);
    const settled = await withTenant(this.db, caller.tenantId, async (tx) => {
      const payment = (await repo.payment(tx, id, { forUpdate: true }))!;
      if (outcome.kind === 'ok') {
        const result = outcome.value;
        await repo.settleTransaction(tx, transactionId, {
          outcome: 'succeeded',
          gateway_reference: result.reference.id,
          raw_response: result.raw,
          latency_ms: outcome.latency,
        });
        return { row: await this.applyGatewayState(tx, actor, payment, result), declined: null };
      }
      if (outcome.kind === 'unknown') {
        await repo.settleTransaction(tx, transactionId, {
          outcome: 'unknown',
          raw_response: { error: outcome.error.message },
          latency_ms: outcome.latency,
        });
        const row = canMovePayment(payment.status, 'unknown')
          ? await this.update(tx, actor, payment, { status: 'unknown' })
          : payment;
        return { row, declined: null };
      }
      const { error } = outcome;
      await repo.settleTransaction(tx, transactionId, {
        outcome: 'declined',
        gateway_reference: error.reference,
        failure_code: error.code,
        failure_message: error.message,
        raw_response: error.raw,
        latency_ms: outcome.latency,
      });
      if (operation === 'create' || operation === 'confirm') {
        const row = await this.update(tx, actor, payment, {
          status: 'failed',
          failure_code: error.code,
          failure_message: error.message,
          pending_operation: null,
          ...(error.reference && !payment.gateway_reference ? { gateway_reference: error.reference } : {}),
        });
        return { row, declined: null };
      }
      // A refused capture or void changes nothing: the payment stays where it was.
      const before = this.statusBefore(payment, operation);
      const row = await this.update(tx, actor, payment, { pending_operation: null, status: before });
      return { row, declined: error };
    });
    if (settled.declined) throw declinedBy(operation, settled.declined);
    return toPaymentDto(settled.row);
  }

  /** Where a payment stood before a capture/void whose outcome was unknown, then refused. */
  private statusBefore(payment: PaymentRow, operation: PaymentOperation): PaymentStatus {
    if (payment.status !== 'unknown') return payment.status;
    return operation === 'void' && payment.amount_authorized === 0 ? 'pending' : 'authorized';
  }

  /** Moves a payment to what the gateway reports, when that is a legal move from where it is. */
  private async applyGatewayState(
    tx: Tx,
    actor: EventActor,
    payment: PaymentRow,
    result: GatewayPayment,
  ): Promise<PaymentRow> {
    const refundedAtGateway = result.status === 'refunded' || result.status === 'partially_refunded';
    const target: PaymentStatus = refundedAtGateway ? 'completed' : result.status;
    const patch: PaymentPatch = {
      pending_operation: null,
      gateway_reference: result.reference.id,
      gateway_data: { ...payment.gateway_data, ...result.reference },
      next_action: result.next_action,
    };
    if (isCaptureHeld(payment, result)) {
      // The gateway took the capture and holds it (PayPal's review, an eCheck clearing, Stripe's
      // processing): no money yet, and the authorization is not free to capture or void again.
      // The payment stays authorized with the capture in progress, until a webhook or
      // pollPending's question settles it.
      patch.status = 'authorized';
      patch.pending_operation = 'capture';
    } else if (
      canMovePayment(payment.status, target) &&
      !(
        refundedAtGateway &&
        payment.status !== 'pending' &&
        payment.status !== 'unknown' &&
        payment.status !== 'authorized'
      )
    ) {
      patch.status = target;
      if (target === 'authorized' || target === 'completed') {
        patch.amount_authorized = Math.max(
          result.amount_authorized,
          target === 'completed' ? result.amount_captured : 0,
        );
      }
      if (target === 'completed') patch.amount_captured = result.amount_captured;
      if (target === 'failed') {
        patch.failure_code = result.failure_code;
        patch.failure_message = result.failure_message;
      }
    } else if (payment.status !== target) {
      this.logger.warn(
        { payment: payment.id, from: payment.status, to: target },
        'gateway state not applied: not a legal move',
      );
    }
    return this.update(tx, actor, payment, patch);
  }

  /** Every change of a payment goes through here: it writes the row and emits the events. */
  private async update(
    tx: Tx,
    actor: EventActor,
    before: PaymentRow,
    patch: PaymentPatch,
  ): Promise<PaymentRow> {
    if (patch.status) assertPaymentMove(before.status, patch.status);
    // Money taken now for an order cancelled meanwhile (the cancel saw nothing captured yet) goes
    // back. The order is locked first, as a payment's creation does: a cancel still running
    // commits before this looks, or waits, and then its own release sees this payment completed.
    const capturing = (patch.amount_captured ?? before.amount_captured) > before.amount_captured;
    const order = capturing
      ? await this.orders.getOrderForPayment(tx, before.order_id, { forUpdate: true })
      : null;
    const after = await repo.updatePayment(tx, before.id, patch);
    const tenantId = after.tenant_id;
    if (order?.status === 'cancelled') {
      const refunds = await this.refundCaptured(tx, [after]);
      if (refunds.length)
        transactionHooks(tx).afterCommit.push(() => void this.processAll(tenantId, refunds));
    }
    const data = eventData(after);
    const events: NewEvent[] = [];
    if (after.amount_captured > before.amount_captured)
      events.push({ type: 'payment.captured', tenantId, actor, data });
    if (after.status === 'completed' && before.status !== 'completed')
      events.push({ type: 'payment.completed', tenantId, actor, data });
    if (after.status === 'failed' && before.status !== 'failed')
      events.push({ type: 'payment.failed', tenantId, actor, data });
    const moved =
      after.status !== before.status ||
      after.amount_authorized !== before.amount_authorized ||
      after.amount_captured !== before.amount_captured ||
      after.amount_refunded !== before.amount_refunded;
    if (moved) events.push({ type: 'commerce.payment.processed', tenantId, actor, data });
    addEvents(tx, events);
    return after;
  }

  // ---- refunds ------------------------------------------------------------------------------

  /**
   * Creates a pending refund in one transaction. `recordAnswer` is called with the answer inside
   * it, so that the route's Idempotency-Key completes with the refund: a retry after a crash gets
   * this refund back instead of creating a second one.
   */
  async createRefund(
    caller: Caller,
    input: CreateRefundBody,
    recordAnswer?: (tx: Tx, answer: Refund) => Promise<void>,
  ): Promise<Refund> {
    return withTenant(this.db, caller.tenantId, async (tx) => {
      // The payment row lock serializes refunds of one payment: their sum is checked race-free.
      const payment = await repo.payment(tx, input.payment_id, { forUpdate: true });
      if (!payment) throw notFound('payment');
      // A refunded payment is not refused for its state: nothing is left of what it captured.
      if (!['completed', 'partially_refunded', 'refunded'].includes(payment.status)) {
        throw new AppError('invalid_state_transition', `A ${payment.status} payment cannot be refunded`);
      }
      const promised = await repo.refundedOrPending(tx, payment.id);
      const refundable = Math.max(0, payment.amount_captured - promised);
      if (input.amount > refundable) {
        throw new AppError('refund_exceeds_captured', `At most ${refundable} can still be refunded`, {
          extensions: { refundable },
        });
      }
      const refund = await this.addRefund(tx, actorOf(caller), payment, {
        amount: input.amount,
        reason: input.reason ?? null,
        created_by: caller.userId,
      });
      const answer = toRefundDto(refund);
      await recordAnswer?.(tx, answer);
      return answer;
    });
  }

  async listRefunds(tenantId: string, query: RefundListQuery) {
    const limit = query.limit ?? PAGE;
    const { rows, orders, numbers } = await withTenantRead(this.db, tenantId, async (tx) => {
      const rows = await repo.refunds(
        tx,
        { payment_id: query.payment_id, status: query.status },
        limit,
        decodeCursor(query.cursor, Uuid),
      );
      const orders = await repo.ordersOfPayments(tx, [...new Set(rows.map((row) => row.payment_id))]);
      return { rows, orders, numbers: await this.orders.numbersOf(tx, [...new Set(orders.values())]) };
    });
    return page(rows, limit, (row): ListedRefund => {
      const orderId = orders.get(row.payment_id)!;
      return { ...toRefundDto(row), order_id: orderId, order_number: numbers.get(orderId)! };
    });
  }

  /** The refunds of each of these payments, newest first, in one read (GraphQL's loader). */
  async refundsByPayment(tenantId: string, paymentIds: readonly string[]): Promise<Map<string, Refund[]>> {
    const rows = await withTenantRead(this.db, tenantId, (tx) => repo.refundsOfPayments(tx, paymentIds));
    const byPayment = new Map<string, Refund[]>(paymentIds.map((id) => [id, []]));
    for (const row of rows) byPayment.get(row.payment_id)?.push(toRefundDto(row));
    return byPayment;
  }

  async processRefund(caller: Caller, id: string): Promise<Refund> {
    const prepared = await withTenant(this.db, caller.tenantId, async (tx) => {
      const refund = await repo.refund(tx, id, { forUpdate: true });
      if (!refund) throw notFound('refund');
      if (refund.status !== 'pending') {
        throw new AppError('invalid_state_transition', `A ${refund.status} refund cannot be processed again`);
      }
      // At the gateway already (answered pending, or made there): it settles when the gateway
      // does, and sending it again could only send a second refund of one made there.
      if (refund.gateway_reference) {
        throw new AppError(
          'invalid_state_transition',
          'The refund is at the gateway already; it is settled when the gateway settles it',
        );
      }
      // Every attempt of a refund is sent under its one key, so the gateway refunds it once. An
      // attempt still pending is at the gateway now: a second one sent meanwhile could only meet
      // it there. One pending longer than the gateway timeout died with its process: its outcome
      // is unknown, and like an unknown one it is sent again.
      const idempotencyKey = refundKey(refund.id);
      const last = await repo.transactionByKey(tx, idempotencyKey);
      const sentSince = new Date(Date.now() - this.config.GATEWAY_TIMEOUT_MS);
      if (last?.outcome === 'pending' && new Date(last.updated_at) > sentSince) {
        throw new AppError('conflict', 'The refund is being sent to the gateway; retry shortly');
      }
      const payment = (await repo.payment(tx, refund.payment_id))!;
      const adapter = await this.adapter(tx, caller.tenantId, payment.gateway);
      const request = {
        reference: referenceOf(payment),
        amount: refund.amount,
        currency: refund.currency,
        reason: refund.reason,
        refundId: refund.id,
        idempotencyKey,
      };
      const transactionId = await this.recordAttempt(tx, payment, {
        id: uuidv7(),
        kind: 'refund',
        request,
        amount: refund.amount,
        refundId: refund.id,
      });
      return { adapter, request, transactionId };
    });
    const outcome = await call(() => prepared.adapter.refund(prepared.request));
    return this.settleRefund(caller, id, prepared.transactionId, outcome);
  }

  /**
   * Declines a refund request: it fails (failure_code `declined`), which releases its amount, and
   * `reason`, if given, replaces the request's (a refund keeps one). Only a request never sent to
   * the gateway: once sent, the gateway may refund it whatever is recorded here (a retry or the
   * reconciler resends it under its key), so it is settled by the gateway's answer alone.
   * `recordAnswer` completes the route's Idempotency-Key in the same transaction.
   */
  async declineRefund(
    caller: Caller,
    id: string,
    reason: string | null,
    recordAnswer?: (tx: Tx, answer: Refund) => Promise<void>,
  ): Promise<Refund> {
    return withTenant(this.db, caller.tenantId, async (tx) => {
      // The lock waits for a process call's first transaction, which records its gateway call.
      const refund = await repo.refund(tx, id, { forUpdate: true });
      if (!refund) throw notFound('refund');
      if (refund.status !== 'pending') {
        const settled =
          refund.status === 'processed'
            ? 'was processed'
            : refund.failure_code === 'declined'
              ? 'was declined'
              : 'failed';
        throw new AppError(
          'invalid_state_transition',
          `This refund ${settled} already, so it can no longer be declined`,
          { extensions: { refund_status: refund.status } },
        );
      }
      if (refund.gateway_reference || (await repo.transactionByKey(tx, refundKey(refund.id)))) {
        throw new AppError(
          'invalid_state_transition',
          'This refund was sent to the payment gateway already, so it can no longer be declined; it settles when the gateway answers',
          { extensions: { refund_status: refund.status, sent_to_gateway: true } },
        );
      }
      const declined = await this.finishRefund(
        tx,
        actorOf(caller),
        refund,
        'failed',
        null,
        'declined',
        reason?.trim() || null,
      );
      const answer = toRefundDto(declined);
      await recordAnswer?.(tx, answer);
      return answer;
    });
  }

  private async settleRefund(
    caller: Caller,
    id: string,
    transactionId: string,
    outcome: CallOutcome<GatewayRefund>,
  ): Promise<Refund> {
    const actor = actorOf(caller);
    return withTenant(this.db, caller.tenantId, async (tx) => {
      const refund = (await repo.refund(tx, id, { forUpdate: true }))!;
      if (outcome.kind === 'unknown') {
        await repo.settleTransaction(tx, transactionId, {
          outcome: 'unknown',
          raw_response: { error: outcome.error.message },
          latency_ms: outcome.latency,
        });
        return toRefundDto(refund);
      }
      const declined = outcome.kind === 'declined';
      await repo.settleTransaction(tx, transactionId, {
        outcome: declined ? 'declined' : 'succeeded',
        gateway_reference: declined ? null : outcome.value.reference,
        failure_code: declined ? outcome.error.code : outcome.value.failure_code,
        failure_message: declined ? outcome.error.message : null,
        raw_response: declined ? outcome.error.raw : outcome.value.raw,
        latency_ms: outcome.latency,
      });
      // Settled meanwhile (a webhook, a concurrent retry): the first settlement stands.
      if (refund.status !== 'pending') return toRefundDto(refund);
      if (declined)
        return toRefundDto(
          await this.finishRefund(
            tx,
            actor,
            refund,
            'failed',
            null,
            outcome.error.code,
            outcome.error.message,
          ),
        );
      const result = outcome.value;
      if (result.status === 'pending') {
        return toRefundDto(await repo.updateRefund(tx, id, { gateway_reference: result.reference }));
      }
      return toRefundDto(
        await this.finishRefund(tx, actor, refund, result.status, result.reference, result.failure_code),
      );
    });
  }

  /** Inserts a pending refund of `payment` and announces it (refund.created), in the caller's transaction. */
  private async addRefund(
    tx: Tx,
    actor: EventActor,
    payment: PaymentRow,
    refund: { amount: number; reason: string | null; created_by: string | null; gateway_reference?: string },
  ): Promise<RefundRow> {
    const now = new Date();
    const row = await repo.insertRefund(tx, {
      id: uuidv7(),
      tenant_id: payment.tenant_id,
      payment_id: payment.id,
      amount: refund.amount,
      currency: payment.currency,
      status: 'pending',
      reason: refund.reason,
      gateway_reference: refund.gateway_reference ?? null,
      failure_code: null,
      created_by: refund.created_by,
      created_at: now,
      updated_at: now,
    });
    addEvents(tx, [
      {
        type: 'refund.created',
        tenantId: payment.tenant_id,
        actor,
        data: refundEventData(row, payment),
      },
    ]);
    return row;
  }

  /**
   * A refund reaches its end: processed money leaves the payment's captured amount; a failed
   * refund's amount can be refunded again. `failureMessage` says why it failed, in words.
   */
  private async finishRefund(
    tx: Tx,
    actor: EventActor,
    refund: RefundRow,
    status: 'processed' | 'failed',
    reference: string | null,
    failureCode: string | null,
    failureMessage: string | null = null,
  ): Promise<RefundRow> {
    const payment = (await repo.payment(tx, refund.payment_id, { forUpdate: true }))!;
    const done = await repo.updateRefund(tx, refund.id, {
      status,
      failure_code: failureCode,
      processed_at: status === 'processed' ? new Date() : null,
      ...(reference ? { gateway_reference: reference } : {}),
      failure_message: failureMessage,
    });
    let after = payment;
    if (status === 'processed') {
      const refunded = payment.amount_refunded + refund.amount;
      after = await this.update(tx, actor, payment, {
        amount_refunded: refunded,
        status: statusAfterRefunds(payment.amount_captured, refunded),
      });
    }
    addEvents(tx, [
      { type: 'refund.processed', tenantId: refund.tenant_id, actor, data: refundEventData(done, after) },
    ]);
    return done;
  }

  // ---- webhooks -----------------------------------------------------------------------------

  /**
   * A gateway's webhook: finds the tenant by the object it is about (by the gateway's ids, or ours
   * that the object carries), verifies the signature with that tenant's secret (or the
   * environment's), and applies the event once (by its event id). One naming nothing of ours is
   * acknowledged and dropped.
   */
  async handleWebhook(
    account: ConfigurableGateway,
    delivery: WebhookDelivery,
  ): Promise<{ received: true; duplicate: boolean }> {
    let body: unknown;
    try {
      body = JSON.parse(delivery.rawBody);
    } catch {
      throw new AppError('invalid_signature', 'The webhook body is not JSON');
    }
    const gateways: Gateway[] = account === 'square' ? ['square', 'square_terminal'] : [account];
    const { references, ourIds } = candidateReferences(body);
    const tenantId = await withSystem(this.db, (tx) =>
      repo.tenantOfReference(tx, gateways, references, ourIds),
    );
    const credentials = tenantId
      ? (await withTenant(this.db, tenantId, (tx) => this.credentials(tx, tenantId, account))).credentials
      : this.environmentCredentials(account);
    let adapter: PaymentGateway;
    try {
      adapter = createGateway(account, this.adapterOptions(credentials));
    } catch {
      throw new AppError('invalid_signature', `No ${account} account is configured to verify this webhook`);
    }
    let event;
    try {
      event = await adapter.parseWebhook({
        ...delivery,
        url: `${this.config.PUBLIC_URL}/webhooks/${account}`,
      });
    } catch (error) {
      if (error instanceof InvalidWebhookSignature) throw new AppError('invalid_signature', error.message);
      if (error instanceof GatewayUnknown) throw new AppError('gateway_error', error.message);
      throw error;
    }
    if (!tenantId) {
      this.logger.info(
        { gateway: account, event: event.id, type: event.type },
        'webhook for no payment of ours',
      );
      return { received: true, duplicate: false };
    }
    const caller: Caller = { tenantId, userId: null };
    const applied = await withTenant(this.db, tenantId, async (tx) => {
      const payment = event.payment ? await this.paymentOfWebhook(tx, gateways, event.payment) : undefined;
      const refund = event.refund ? await this.refundOfWebhook(tx, event.refund) : undefined;
      const fresh = await repo.recordWebhook(tx, {
        gateway: account,
        event_id: event.id,
        tenant_id: tenantId,
        type: event.type,
        payment_id: payment?.id ?? null,
        refund_id: refund?.id ?? null,
        payload: delivery.rawBody,
      });
      if (!fresh) return { duplicate: true, confirm: null };
      if (refund && event.refund && refund.status === 'pending' && event.refund.status !== 'pending') {
        await this.finishRefund(
          tx,
          SYSTEM_ACTOR,
          refund,
          event.refund.status,
          event.refund.reference,
          event.refund.failure_code,
        );
      }
      if (!refund && event.refund) await this.recordGatewayRefund(tx, gateways, event.refund);
      if (event.dispute) await this.disputes.record(tx, gateways, event.dispute);
      if (!payment || !event.payment) return { duplicate: false, confirm: null };
      await this.applyWebhookState(tx, payment, event.payment);
      return { duplicate: false, confirm: event.payment.status === 'approved' ? payment.id : null };
    });
    if (applied.confirm) await this.confirmApproved(caller, applied.confirm);
    return { received: true, duplicate: applied.duplicate };
  }

  /**
   * The payment a webhook is about, locked: by its gateway reference, or else by our id that the
   * gateway's object carries. A gateway may send its webhook as it answers our call, before the
   * transaction that stores the answer commits: the lock then waits for that transaction, and the
   * payment is read as it left it. One stored under another reference is not this object's (a
   * Terminal checkout's card payment carries our payment id, as its checkout does).
   */
  private async paymentOfWebhook(
    tx: Tx,
    gateways: Gateway[],
    change: NonNullable<GatewayWebhookEvent['payment']>,
  ): Promise<PaymentRow | undefined> {
    const byReference = await repo.paymentByReference(tx, gateways, change.reference, { forUpdate: true });
    const ourId = ourIdOf(change.our_payment_id);
    if (byReference || !ourId) return byReference;
    const byId = await repo.paymentOfGateways(tx, gateways, ourId, { forUpdate: true });
    return byId && (byId.gateway_reference === null || byId.gateway_reference === change.reference)
      ? byId
      : undefined;
  }

  /**
   * The refund a webhook is about, locked: by its gateway reference, or else by our id it carries
   * (each refund of ours is sent under one key, so the gateway holds one refund of that id).
   */
  private async refundOfWebhook(tx: Tx, change: GatewayRefundChange): Promise<RefundRow | undefined> {
    const byReference = await repo.refundByReference(tx, change.reference, { forUpdate: true });
    const ourId = ourIdOf(change.our_refund_id);
    if (byReference || !ourId) return byReference;
    return repo.refund(tx, ourId, { forUpdate: true });
  }

  /**
   * A refund made at the gateway, not here (in its dashboard, or by the gateway for a dispute):
   * recorded as a refund of its payment, so that the payment, its order and the figures show the
   * money that went back. Not one of ours whose reference is not stored yet: those carry our id
   * (Stripe, PayPal), and for Square, whose refunds do not, a refund of ours of the same amount
   * still on its way to the gateway is taken to be it.
   */
  private async recordGatewayRefund(tx: Tx, gateways: Gateway[], change: GatewayRefundChange): Promise<void> {
    if (!change.payment_reference) return;
    const [listed] = await repo.paymentsByReferences(tx, gateways, [change.payment_reference]);
    if (listed) await this.recordGatewayRefundOf(tx, listed.id, change);
  }

  /**
   * recordGatewayRefund for a payment known already (reconciliation asks the gateway for its
   * refunds). A refund recorded before under its gateway id is left alone: the payment's lock
   * orders this after another webhook or run that recorded it.
   */
  private async recordGatewayRefundOf(tx: Tx, paymentId: string, change: GatewayRefundChange): Promise<void> {
    if (change.our_refund_id || change.status === 'failed') return;
    const payment = (await repo.payment(tx, paymentId, { forUpdate: true }))!;
    const refunds = await repo.refundsOfPayments(tx, [payment.id]);
    if (refunds.some((refund) => refund.gateway_reference === change.reference)) return;
    const onItsWay = refunds.some(
      (refund) =>
        refund.status === 'pending' && refund.gateway_reference === null && refund.amount === change.amount,
    );
    if (onItsWay) return;
    const promised = refunds
      .filter((refund) => refund.status !== 'failed')
      .reduce((sum, refund) => sum + refund.amount, 0);
    const refundable = payment.status === 'completed' || payment.status === 'partially_refunded';
    if (
      !refundable ||
      change.currency !== payment.currency ||
      promised + change.amount > payment.amount_captured
    ) {
      this.logger.warn(
        { payment: payment.id, refund: change.reference, amount: change.amount, currency: change.currency },
        'a refund made at the gateway does not fit its payment here; not recorded',
      );
      return;
    }
    const refund = await this.addRefund(tx, SYSTEM_ACTOR, payment, {
      amount: change.amount,
      reason: change.description,
      gateway_reference: change.reference,
      created_by: null,
    });
    if (change.status === 'processed')
      await this.finishRefund(tx, SYSTEM_ACTOR, refund, 'processed', change.reference, null);
  }

  private async applyWebhookState(
    tx: Tx,
    payment: PaymentRow,
    change: NonNullable<Awaited<ReturnType<PaymentGateway['parseWebhook']>>['payment']>,
  ) {
    const target =
      change.status === 'refunded' || change.status === 'partially_refunded' || change.status === 'approved'
        ? null
        : change.status;
    const patch: PaymentPatch = change.details
      ? { gateway_data: { ...payment.gateway_data, ...change.details } }
      : {};
    // Found by our id before the gateway's answer was stored: the webhook names its object first.
    if (payment.gateway_reference === null) patch.gateway_reference = change.reference;
    if (target && target !== payment.status && canMovePayment(payment.status, target)) {
      patch.status = target;
      patch.pending_operation = null;
      patch.next_action = null;
      if (target === 'authorized') patch.amount_authorized = payment.amount;
      if (target === 'completed') {
        patch.amount_captured = change.amount_captured ?? (payment.amount_authorized || payment.amount);
        patch.amount_authorized = Math.max(payment.amount_authorized, patch.amount_captured);
      }
      if (target === 'failed') {
        patch.failure_code = change.failure_code;
        patch.failure_message = change.failure_message;
      }
    }
    if (Object.keys(patch).length) await this.update(tx, SYSTEM_ACTOR, payment, patch);
  }

  // ---- the reconciler -----------------------------------------------------------------------

  /**
   * Asks the gateway about payments still pending there (a Square Terminal checkout, a PayPal order
   * waiting for its buyer) created more than `olderThanMs` ago, in case their webhook never comes:
   * an answer that moved is applied as the webhook would have been (an approved PayPal order is
   * authorized or captured). Refunds the gateway answered pending (Square's often are) and left
   * unchanged as long are asked about too: the webhook that settles one may never come, or come
   * before the refund's reference was stored, and match nothing. Returns how many moved.
   */
  async pollPending(olderThanMs = 60_000, limit = 100): Promise<number> {
    const before = new Date(Date.now() - olderThanMs);
    const [payments, captures, refunds] = await withSystem(this.db, async (tx) => [
      await repo.pendingAtGateway(tx, ['square_terminal', 'paypal'], before, limit),
      await repo.capturesHeldAtGateway(tx, before, limit),
      await repo.refundsPendingAtGateway(tx, before, limit),
    ]);
    const moved = await countSucceeded(
      payments,
      ({ id, tenant_id: tenantId }) => this.pollPayment(tenantId, id),
      ({ id }, error) => this.logger.warn({ err: error, payment: id }, 'could not poll a pending payment'),
    );
    const captured = await countSucceeded(
      captures,
      ({ id, tenant_id: tenantId }) => this.pollHeldCapture(tenantId, id),
      ({ id }, error) => this.logger.warn({ err: error, payment: id }, 'could not poll a held capture'),
    );
    const settled = await countSucceeded(
      refunds,
      ({ id, tenant_id: tenantId }) => this.pollRefund(tenantId, id),
      ({ id }, error) => this.logger.warn({ err: error, refund: id }, 'could not poll a pending refund'),
    );
    return moved + captured + settled;
  }

  /**
   * A capture the gateway held: settled (completed, or refused) once the gateway has. Until then,
   * or while the gateway still shows only the authorization (the capture call is still out), the
   * payment goes to the back of the line.
   */
  private async pollHeldCapture(tenantId: string, id: string): Promise<boolean> {
    const held = (payment: PaymentRow | undefined): payment is PaymentRow =>
      payment?.status === 'authorized' && payment.pending_operation === 'capture';
    const loaded = await withTenant(this.db, tenantId, async (tx) => {
      const payment = await repo.payment(tx, id);
      if (!held(payment)) return null;
      return { payment, adapter: await this.adapter(tx, tenantId, payment.gateway) };
    });
    if (!loaded) return false;
    const answer = await loaded.adapter.retrieve(referenceOf(loaded.payment));
    return withTenant(this.db, tenantId, async (tx) => {
      const payment = await repo.payment(tx, id, { forUpdate: true });
      if (!held(payment)) return false;
      if (!answer || answer.status === 'pending' || answer.status === 'authorized') {
        await repo.updatePayment(tx, id, {});
        return false;
      }
      await this.applyGatewayState(tx, SYSTEM_ACTOR, payment, answer);
      return true;
    });
  }

  private async pollRefund(tenantId: string, id: string): Promise<boolean> {
    const loaded = await withTenant(this.db, tenantId, async (tx) => {
      const refund = await repo.refund(tx, id);
      if (refund?.status !== 'pending' || !refund.gateway_reference) return null;
      const payment = (await repo.payment(tx, refund.payment_id))!;
      return {
        reference: refund.gateway_reference,
        adapter: await this.adapter(tx, tenantId, payment.gateway),
      };
    });
    if (!loaded) return false;
    const answer = await loaded.adapter.retrieveRefund(loaded.reference);
    return withTenant(this.db, tenantId, async (tx) => {
      const refund = await repo.refund(tx, id, { forUpdate: true });
      if (refund?.status !== 'pending') return false;
      if (!answer || answer.status === 'pending') {
        // Still waiting: to the back of the line, so that the others are asked about too.
        await repo.updateRefund(tx, id, {});
        return false;
      }
      await this.finishRefund(tx, SYSTEM_ACTOR, refund, answer.status, answer.reference, answer.failure_code);
      return true;
    });
  }

  private async pollPayment(tenantId: string, id: string): Promise<boolean> {
    const loaded = await withTenant(this.db, tenantId, async (tx) => {
      const payment = await repo.payment(tx, id);
      if (payment?.status !== 'pending' || !payment.gateway_reference) return null;
      return { payment, adapter: await this.adapter(tx, tenantId, payment.gateway) };
    });
    if (!loaded) return false;
    const answer = await loaded.adapter.retrieve(referenceOf(loaded.payment));
    if (!answer) return false;
    if (answer.status === 'pending') {
      if (!answer.approved) return false;
      return (await this.confirmApproved({ tenantId, userId: null }, id)) !== null;
    }
    return withTenant(this.db, tenantId, async (tx) => {
      const payment = await repo.payment(tx, id, { forUpdate: true });
      if (payment?.status !== 'pending') return false;
      await this.applyGatewayState(tx, SYSTEM_ACTOR, payment, answer);
      return true;
    });
  }

  /**
   * Settles what timed out: every gateway call left `unknown`, or left `pending` by a process that
   * died during it (last tried longer ago than `abandonedAfterMs`), is resent with its recorded request
   * and idempotency key (the gateway answers with the first outcome, never a second charge), and
   * the payment or refund is settled from the answer. Returns how many were settled.
   */
  async settleUnknown(limit = 100, abandonedAfterMs = ABANDONED_AFTER_MS): Promise<number> {
    const pending = await withSystem(this.db, (tx) =>
      repo.unsettledTransactions(tx, new Date(Date.now() - abandonedAfterMs), limit),
    );
    return countSucceeded(
      pending,
      ({ id, tenant_id: tenantId }) => this.retryTransaction({ tenantId, userId: null }, id),
      ({ id }, error) =>
        this.logger.error({ err: error, transaction: id }, 'could not settle an unknown gateway call'),
    );
  }

  private async retryTransaction(caller: Caller, transactionId: string): Promise<boolean> {
    const { tenantId } = caller;
    const loaded = await withTenant(this.db, tenantId, async (tx) => {
      const transaction = await repo.transaction(tx, transactionId);
      if (!transaction || (transaction.outcome !== 'unknown' && transaction.outcome !== 'pending'))
        return null;
      const payment = (await repo.payment(tx, transaction.payment_id))!;
      return { transaction, payment, adapter: await this.adapter(tx, tenantId, payment.gateway) };
    });
    if (!loaded) return false;
    const { transaction, payment, adapter } = loaded;
    const request = transaction.request;
    switch (transaction.kind) {
      case 'authorize':
      case 'charge': {
        const outcome = await call(() => adapter.createPayment(request as unknown as CreatePaymentRequest));
        if (
          outcome.kind === 'unknown' &&
          adapter instanceof SquareGateway &&
          adapter.name === 'square' &&
          Date.now() - new Date(transaction.created_at).getTime() > GIVE_UP_AFTER_MS
        ) {
          // Square lets us take back a card payment we never heard of: it is cancelled, and settled
          // as Square then has it (a completed one cannot be cancelled), or failed if Square never
          // had it. Not a Terminal checkout, which that cancel does not reach: it may still be paid
          // on the device, so it is asked about again, with the same key, until Square answers.
          const left = await adapter.cancelByIdempotencyKey(
            transaction.idempotency_key,
            payment.id,
            new Date(transaction.created_at),
          );
          await this.settlePayment(
            caller,
            payment.id,
            transaction.id,
            'create',
            left
              ? { kind: 'ok', value: left, latency: 0 }
              : {
                  kind: 'declined',
                  error: new GatewayDeclined(
                    'gateway_timeout',
                    'The gateway never answered; the attempt was cancelled',
                    null,
                  ),
                  latency: 0,
                },
          );
          return true;
        }
        await this.settlePayment(caller, payment.id, transaction.id, 'create', outcome);
        return outcome.kind !== 'unknown';
      }
      case 'capture':
      case 'void': {
        const typed = request as unknown as {
          reference: GatewayReference;
          amount: number;
          currency: string;
          idempotencyKey: string;
        };
        const outcome = await call(() =>
          transaction.kind === 'capture' ? adapter.capture(typed) : adapter.void(typed),
        );
        await this.settlePayment(caller, payment.id, transaction.id, transaction.kind, outcome).catch(
          (error: unknown) => {
            if (!(error instanceof AppError && error.code === 'payment_declined')) throw error;
          },
        );
        return outcome.kind !== 'unknown';
      }
      case 'confirm': {
        if (!(adapter instanceof PayPalGateway)) return false;
        const typed = request as unknown as {
          reference: GatewayReference;
          capture: boolean;
          idempotencyKey: string;
        };
        const outcome = await call(() =>
          adapter.confirmApproved(typed.reference, typed.capture, typed.idempotencyKey),
        );
        await this.settlePayment(caller, payment.id, transaction.id, 'confirm', outcome);
        return outcome.kind !== 'unknown';
      }
      case 'refund': {
        const outcome = await call(() =>
          adapter.refund(request as unknown as Parameters<PaymentGateway['refund']>[0]),
        );
        await this.settleRefund(caller, transaction.refund_id!, transaction.id, outcome);
        return outcome.kind !== 'unknown';
      }
    }
  }

  /**
   * What a cancelled order still holds goes back: its pending payments and open authorizations are
   * voided, and money captured anyway (a charge or capture whose outcome came after the cancel) is
   * refunded. The refunds are requested in the caller's transaction, so they outlive a crash; the
   * gateway calls run after its commit, because a call must never run inside a transaction, and on
   * the embedded database a void's own transaction would wait for the caller's connection. A void
   * left undone is taken up by voidAbandoned; a refund whose processing failed waits among the
   * refund approvals.
   */
  async releaseCancelledOrder(tx: Tx, tenantId: string, orderId: string): Promise<void> {
    const held = await repo.heldPaymentsOfOrder(tx, orderId);
    const open = held.filter(({ status }) => status === 'pending' || status === 'authorized');
    const refunds = await this.refundCaptured(
      tx,
      held.filter(({ status }) => status === 'completed' || status === 'partially_refunded'),
    );
    if (open.length === 0 && refunds.length === 0) return;
    transactionHooks(tx).afterCommit.push(() => {
      void this.voidAll(
        tenantId,
        open.map(({ id }) => id),
      );
      void this.processAll(tenantId, refunds);
    });
  }

  /** Requests a refund of what each payment still has captured and unrefunded; answers the refund ids. */
  private async refundCaptured(tx: Tx, payments: { id: string }[]): Promise<string[]> {
    const refunds: string[] = [];
    for (const { id } of payments) {
      const payment = (await repo.payment(tx, id, { forUpdate: true }))!;
      if (payment.status !== 'completed' && payment.status !== 'partially_refunded') continue;
      const left = payment.amount_captured - (await repo.refundedOrPending(tx, payment.id));
      if (left <= 0) continue;
      const refund = await this.addRefund(tx, SYSTEM_ACTOR, payment, {
        amount: left,
        reason: 'The order was cancelled before this payment completed',
        created_by: null,
      });
      refunds.push(refund.id);
    }
    return refunds;
  }

  private processAll(tenantId: string, refundIds: string[]): Promise<number> {
    return countSucceeded(
      refundIds,
      async (id) => {
        await this.processRefund({ tenantId, userId: null }, id);
        return true;
      },
      (id, error) =>
        this.logger.warn({ err: error, refund: id }, 'could not refund a payment of a cancelled order'),
    );
  }

  /**
   * The reconciler's sweep: payments still pending or authorized on orders that were cancelled
   * (longer ago than a grace period, so the cancel's own voids go first) are voided.
   */
  async voidAbandoned(graceMs = 60_000): Promise<number> {
    const before = new Date(Date.now() - graceMs);
    const page = 100;
    let voided = 0;
    let afterId: string | null = null;
    for (;;) {
      const cursor: string | null = afterId;
      const candidates: { id: string; tenant_id: string; order_id: string }[] = await withSystem(
        this.db,
        (tx) => repo.openPaymentsBefore(tx, before, cursor, page),
      );
      const byTenant = new Map<string, typeof candidates>();
      for (const candidate of candidates) {
        const open = byTenant.get(candidate.tenant_id) ?? [];
        open.push(candidate);
        byTenant.set(candidate.tenant_id, open);
      }
      for (const [tenantId, open] of byTenant) {
        const cancelled = await withTenant(this.db, tenantId, (tx) =>
          this.orders.cancelledAmong(
            tx,
            open.map((payment) => payment.order_id),
          ),
        );
        voided += await this.voidAll(
          tenantId,
          open.filter((payment) => cancelled.has(payment.order_id)).map((payment) => payment.id),
        );
      }
      if (candidates.length < page) return voided;
      afterId = candidates.at(-1)!.id;
    }
  }

  private voidAll(tenantId: string, paymentIds: string[]): Promise<number> {
    return countSucceeded(
      paymentIds,
      async (id) => {
        await this.void({ tenantId, userId: null }, id);
        return true;
      },
      (id, error) =>
        this.logger.warn({ err: error, payment: id }, 'could not void a payment of a cancelled order'),
    );
  }

  // ---- reconciliation and summary -----------------------------------------------------------

  async reconcile(caller: Caller, body: ReconcileBody): Promise<ReconciliationRun> {
    const from = new Date(body.from);
    const to = new Date(body.to);
    if (!(from < to)) throw validation('to', 'must be after from');
    const adapter = await withTenant(this.db, caller.tenantId, (tx) =>
      this.adapter(tx, caller.tenantId, body.gateway),
    );
    const listed = await call(() =>
      adapter.listPayments(
        new Date(from.getTime() - RECONCILE_MARGIN_MS),
        new Date(to.getTime() + RECONCILE_MARGIN_MS),
      ),
    );
    if (listed.kind !== 'ok')
      throw new AppError(
        'gateway_error',
        `${body.gateway} could not list its payments: ${listed.error.message}`,
      );
    const remote = listed.value;
    const runId = uuidv7();
    // Square lists the account's card and Terminal payments together: both are compared with it.
    const gateways: Gateway[] =
      body.gateway === 'square' || body.gateway === 'square_terminal'
        ? ['square', 'square_terminal']
        : [body.gateway];
    const { run, refundsMissed } = await withTenant(this.db, caller.tenantId, async (tx) => {
      const locals = await repo.paymentsCreatedBetween(tx, gateways, from, to);
      const remoteKeys = remote.flatMap((item) =>
        [item.reference.id, item.reference.capture_id, item.reference.payment_id].filter(
          (key): key is string => !!key,
        ),
      );
      // A gateway record may belong to a payment of a neighbouring period: found, it is left to it.
      const known = new Map<string, PaymentRow>();
      for (const row of [...locals, ...(await repo.paymentsByReferences(tx, gateways, remoteKeys))])
        known.set(row.id, row);
      const byKey = new Map<string, PaymentRow>();
      for (const row of known.values()) {
        for (const key of [
          row.gateway_reference,
          row.gateway_data.capture_id,
          row.gateway_data.authorization_id,
          row.gateway_data.payment_id,
        ]) {
          if (key) byKey.set(key, row);
        }
      }
      const pendingRefunds = await repo.pendingRefundTotals(tx, [...known.keys()]);
      const rows: Parameters<typeof repo.insertReconciliation>[1] = [];
      const refundsMissed: PaymentRow[] = [];
      const seen = new Set<string>();
      const row = (result: ReconciliationResult, local: PaymentRow | null, item: GatewayPayment | null) => ({
        id: uuidv7(),
        tenant_id: caller.tenantId,
        run_id: runId,
        gateway: body.gateway,
        period_from: from,
        period_to: to,
        result,
        payment_id: local?.id ?? null,
        gateway_reference: item?.reference.id ?? local?.gateway_reference ?? null,
        currency: item?.currency ?? local?.currency ?? null,
        local_amount: local
          ? comparableAmount(local.status, local.amount_authorized, local.amount_captured)
          : null,
        gateway_amount: item
          ? comparableAmount(item.status, item.amount_authorized, item.amount_captured)
          : null,
        local_refunded: local?.amount_refunded ?? null,
        gateway_refunded: item?.amount_refunded ?? null,
        local_status: local?.status ?? null,
        gateway_status: item?.status ?? null,
      });
      const inPeriod = (at: Date) => at >= from && at < to;
      for (const item of remote) {
        const local = [item.reference.id, item.reference.capture_id, item.reference.payment_id]
          .map((key) => (key ? byKey.get(key) : undefined))
          .find((found) => found !== undefined);
        // A payment belongs to the period of our record of it, whatever the gateway's stamp (later,
        // and in whole seconds for some); a record we do not have, to the period of its stamp.
        if (!inPeriod(local ? local.created_at : item.created_at)) continue;
        if (!local) {
          // One that moved no money (declined, or cancelled, as an abandoned create is) is no
          // discrepancy, though we never learnt its gateway id.
          if (item.status !== 'failed' && item.status !== 'voided')
            rows.push(row('missing_local', null, item));
          continue;
        }
        seen.add(local.id);
        const localAmount = comparableAmount(local.status, local.amount_authorized, local.amount_captured);
        const remoteAmount = comparableAmount(item.status, item.amount_authorized, item.amount_captured);
        // A refund still pending here may be counted there already, or not yet.
        const refundedOrPending = local.amount_refunded + (pendingRefunds.get(local.id) ?? 0);
        const refundsAgree =
          item.amount_refunded >= local.amount_refunded && item.amount_refunded <= refundedOrPending;
        // More given back there than we know of: refunds made at the gateway whose webhooks were lost.
        if (item.amount_refunded > refundedOrPending) refundsMissed.push(local);
        if (comparableStatus(local.status) !== comparableStatus(item.status))
          rows.push(row('status_mismatch', local, item));
        else if (
          localAmount !== remoteAmount ||
          local.currency !== item.currency.toUpperCase() ||
          !refundsAgree
        )
          rows.push(row('amount_mismatch', local, item));
        else rows.push(row('matched', local, item));
      }
      for (const local of locals) {
        if (seen.has(local.id)) continue;
        // PayPal's report lists money movements only: an order never captured is not in it.
        if (body.gateway === 'paypal' && local.amount_captured === 0) continue;
        rows.push(row('missing_gateway', local, null));
      }
      await repo.insertReconciliation(tx, rows);
      const counts = {
        matched: 0,
        missing_local: 0,
        missing_gateway: 0,
        amount_mismatch: 0,
        status_mismatch: 0,
      };
      for (const item of rows) counts[item.result] += 1;
      const run: ReconciliationRun = {
        id: runId,
        gateway: body.gateway,
        from: iso(from),
        to: iso(to),
        counts,
        rows: rows.map((item) => toReconciliationDto({ ...item, created_at: new Date() })),
      };
      return { run, refundsMissed };
    });
    await this.recordMissedRefunds(caller.tenantId, adapter, refundsMissed);
    return run;
  }

  /**
   * Refunds made at the gateway that a run found we have not recorded (their webhooks were lost)
   * are recorded as their webhooks would have recorded them, a payment at a time, its gateway's
   * list read outside any transaction. The run's rows still say what it found; the next matches.
   */
  private async recordMissedRefunds(
    tenantId: string,
    adapter: PaymentGateway,
    payments: PaymentRow[],
  ): Promise<void> {
    await countSucceeded(
      payments,
      async (payment) => {
        const refunds = await adapter.listRefunds(referenceOf(payment));
        await withTenant(this.db, tenantId, async (tx) => {
          for (const refund of refunds) await this.recordGatewayRefundOf(tx, payment.id, refund);
        });
        return true;
      },
      (payment, error) =>
        this.logger.warn(
          { err: error, payment: payment.id },
          "could not record a payment's refunds made at its gateway",
        ),
    );
  }

  async listReconciliation(tenantId: string, query: ReconciliationQuery) {
    const limit = query.limit ?? PAGE;
    const rows = await withTenantRead(this.db, tenantId, (tx) =>
      repo.reconciliation(
        tx,
        { run_id: query.run_id, result: query.result },
        limit,
        decodeCursor(query.cursor, Uuid),
      ),
    );
    return page(rows, limit, toReconciliationDto);
  }

  /**
   * The payments made in [from, to) as CSV, in the order made, each with its order's number, a
   * page at a time in transactions of their own; a bad period is refused first.
   */
  exportCsv(tenantId: string, from: Date, to: Date): Promise<CsvExport> {
    const read: TenantRead = (work) => withTenantRead(this.db, tenantId, work);
    return csvExport(read, 'payments', from, to, (timeZone) => this.exportPages(read, from, to, timeZone));
  }

  private async *exportPages(
    read: TenantRead,
    from: Date,
    to: Date,
    timeZone: string,
  ): AsyncGenerator<string> {
    const money = formatMinorUnits;
    yield* csvPages(
      PAYMENT_EXPORT_COLUMNS,
      (after, size) =>
        read(async (tx) => {
          const rows = await repo.madeBetween(tx, from, to, after, size);
          const numbers = await this.orders.numbersOf(tx, [...new Set(rows.map((row) => row.order_id))]);
          return rows.map((row) => ({ ...row, order_number: numbers.get(row.order_id) ?? null }));
        }),
      (row) => [
        zonedTimestamp(row.created_at, timeZone),
        row.order_number,
        row.gateway,
        row.status,
        row.currency,
        money(row.amount, row.currency),
        money(row.amount_captured, row.currency),
        money(row.amount_refunded, row.currency),
        row.change_due === null ? null : money(row.change_due, row.currency),
        row.gateway_reference,
        row.failure_code,
        row.id,
      ],
    );
  }

  async summary(tenantId: string, fromText: string, toText: string): Promise<PaymentSummary> {
    const from = new Date(fromText);
    const to = new Date(toText);
    if (!(from < to)) throw validation('to', 'must be after from');
    const result = await withTenantRead(this.db, tenantId, (tx) => repo.summary(tx, from, to));
    return {
      from: iso(from),
      to: iso(to),
      currencies: result.currencies.map((totals) => ({
        ...totals,
        by_gateway: result.byGateway
          .filter((row) => row.currency === totals.currency)
          .map(({ currency: _, ...rest }) => rest),
        by_status: result.byStatus
          .filter((row) => row.currency === totals.currency)
          .map(({ currency: _, ...rest }) => rest),
        by_day: result.byDay
          .filter((row) => row.currency === totals.currency)
          .map(({ currency: _, ...rest }) => rest),
      })),
    };
  }
}

/** The amount to compare: captured money once captured, else what is held. */
function comparableAmount(status: string, authorized: number, captured: number): number {
  return status === 'completed' || status === 'partially_refunded' || status === 'refunded'
    ? captured
    : status === 'authorized'
      ? authorized
      : 0;
}

/** Refunds are compared as amounts (a refund of ours may be pending): completed and refunded compare alike. */
function comparableStatus(status: string): string {
  return status === 'partially_refunded' || status === 'refunded' ? 'completed' : status;
}

/** Our payment or refund id, if `value` can be one (a gateway's field may hold anything). */
function ourIdOf(value: string | null): string | null {
  return value && isUuid(value) ? value : null;
}

/** Where a gateway's object carries our ids: Stripe's metadata, Square's reference_id, PayPal's custom_id and invoice_id. */
const OUR_ID_KEYS = new Set([
  'tessera_payment_id',
  'tessera_refund_id',
  'reference_id',
  'custom_id',
  'invoice_id',
]);

/**
 * Ids a webhook body may name, before it is verified: only used to find whose secret verifies it.
 * The gateway's ids, and ours (UUIDs) where the gateway keeps them.
 */
function candidateReferences(body: unknown): { references: string[]; ourIds: string[] } {
  const found = new Set<string>();
  const ours = new Set<string>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 6 || value === null || typeof value !== 'object') return;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (typeof item === 'string' && OUR_ID_KEYS.has(key)) {
        if (ourIdOf(item)) ours.add(item);
      } else if (
        typeof item === 'string' &&
        (key === 'id' ||
          key === 'payment_intent' ||
          key === 'payment_id' ||
          key === 'order_id' ||
          key === 'seller_transaction_id')
      )
        found.add(item);
      else if (typeof item === 'string' && key === 'href') {
        // A PayPal refund names its capture only in its links.
        const capture = /\/v2\/payments\/captures\/([^/?#]+)/.exec(item)?.[1];
        if (capture) found.add(capture);
      } else if (Array.isArray(item) && key === 'payment_ids')
        item.forEach((entry) => typeof entry === 'string' && found.add(entry));
      else visit(item, depth + 1);
    }
  };
  visit(body, 0);
  return { references: [...found].slice(0, 50), ourIds: [...ours].slice(0, 50) };
}
