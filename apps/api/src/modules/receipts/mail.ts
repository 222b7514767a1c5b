import type { Tenant } from '@tessera/contracts';
import { escapeHtml, type Mail } from '../../platform/mail';
import { formatMoney } from '../../platform/money';
import type { Order } from '../orders';

/** The order's time as the business reads it: in its own time zone. */
function localTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(
    new Date(iso),
  );
}

/**
 * A receipt: the business, the order's number and time, each line, the totals, and what was paid
 * and refunded. Plain text and HTML, as every mail.
 */
export function receiptMail(order: Order, tenant: Tenant, to: string): Mail {
  const money = (amount: number) => formatMoney(amount, order.currency);
  const when = localTime(order.created_at, tenant.time_zone);
  const totals: [string, number][] = [
    ['Subtotal', order.subtotal],
    ['Total', order.total],
    ['Paid', order.amount_paid],
    ...(order.amount_refunded > 0 ? ([['Refunded', order.amount_refunded]] as [string, number][]) : []),
  ];
  const text = [
    `Receipt from ${tenant.name}`,
    `Order #${order.number}, ${when}`,
    '',
    ...order.lines.map((line) => `${line.quantity} × ${line.name} (${line.sku})  ${money(line.line_total)}`),
    '',
    ...totals.map(([name, amount]) => `${name}: ${money(amount)}`),
    '',
    'Thank you for your purchase.',
  ].join('\n');
  const cell = 'style="padding:4px 8px;text-align:right"';
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<h1 style="font-size:20px">Receipt from ${escapeHtml(tenant.name)}</h1>
<p>Order #${order.number}, ${escapeHtml(when)}</p>
<table style="border-collapse:collapse">
<thead><tr><th style="padding:4px 8px;text-align:left">Item</th><th ${cell}>Quantity</th><th ${cell}>Price</th><th ${cell}>Amount</th></tr></thead>
<tbody>
${order.lines
  .map(
    (line) =>
      `<tr><td style="padding:4px 8px">${escapeHtml(line.name)}</td><td ${cell}>${line.quantity}</td><td ${cell}>${escapeHtml(money(line.unit_price))}</td><td ${cell}>${escapeHtml(money(line.line_total))}</td></tr>`,
  )
  .join('\n')}
</tbody>
<tfoot>
${totals.map(([name, amount]) => `<tr><th colspan="3" ${cell}>${name}</th><td ${cell}>${escapeHtml(money(amount))}</td></tr>`).join('\n')}
</tfoot>
</table>
<p>Thank you for your purchase.</p>
</body></html>`;
  return { to, subject: `Your receipt from ${tenant.name}: order #${order.number}`, text, html };
}
