import { RECEIPTED_ORDER_STATUSES } from '@tessera/contracts';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../platform/db/tables';
import { withTenantRead, type Tx } from '../../platform/db/tenant';
import { AppError } from '../../platform/errors';
import type { Mail, Mailer } from '../../platform/mail';
import type { Order, OrdersService } from '../orders';
import type { TenantService } from '../tenants';
import { receiptMail } from './mail';

/**
 * Receipts: mailed to the customer when an order is paid, if the order names the customer's email,
 * and sent again, to that address or another, when the desk asks.
 */
export class ReceiptsService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly orders: OrdersService,
    private readonly tenants: TenantService,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
  ) {}

  /** Sends the receipt of an order now, to `to` or to the order's customer; resolves to the address. */
  async send(tenantId: string, orderId: string, to: string | undefined): Promise<{ sent_to: string }> {
    const { order, mail } = await withTenantRead(this.db, tenantId, async (tx) => {
      const order = await this.orders.get(tx, orderId);
      const recipient = to ?? order.customer_email;
      if (!recipient) {
        throw new AppError('validation_failed', 'The order names no customer email: give the address', {
          errors: [{ path: 'email', message: 'is required: the order has no customer email' }],
        });
      }
      if (!RECEIPTED_ORDER_STATUSES.includes(order.status)) {
        throw new AppError('invalid_state_transition', `A ${order.status} order has no receipt yet`, {
          extensions: { order_status: order.status },
        });
      }
      return { order, mail: await this.mail(tx, tenantId, order, recipient) };
    });
    try {
      await this.mailer.send(mail);
    } catch (error) {
      this.logger.error({ err: error, order: order.id }, 'receipt not sent');
      throw new AppError('mail_error', 'The mail server did not take the receipt; try again', {
        cause: error,
      });
    }
    return { sent_to: mail.to };
  }

  /**
   * The receipt of an order just paid, to its customer. Sent in the consumer's transaction: a mail
   * server that refuses it fails the delivery, which is retried; a crash after the mail went and
   * before the commit sends it twice, which is better than never.
   */
  async sendOnPayment(tx: Tx, tenantId: string, orderId: string): Promise<void> {
    let order: Order;
    try {
      order = await this.orders.get(tx, orderId);
    } catch (error) {
      // An event whose order is not stored here (events replayed into another database) has no
      // receipt to send; retrying would not find it either.
      if (error instanceof AppError && error.code === 'not_found') return;
      throw error;
    }
    if (!order.customer_email) return;
    await this.mailer.send(await this.mail(tx, tenantId, order, order.customer_email));
  }

  private async mail(tx: Tx, tenantId: string, order: Order, to: string): Promise<Mail> {
    return receiptMail(order, await this.tenants.of(tx, tenantId), to);
  }
}
