import type { Web } from '@tessera/contracts';
import { useState } from 'react';
import { Link } from 'react-router';
import { Badge, DataTable, Money } from './ui';
import { formatDateTime, label } from '../lib/format';

/** A gateway's reason code in words: `product_not_received`, `NOT_RECEIVED`. */
export function disputeReason(reason: string | null): string {
  return reason ? label(reason.toLowerCase()) : '—';
}

/** Open disputes show when to answer by; one past its date, as of `now`, is marked as such. */
function RespondBy({ dispute, now }: { dispute: Web.Dispute; now: number }) {
  if (dispute.status !== 'needs_response' || !dispute.evidence_due_by) return <>—</>;
  const late = Date.parse(dispute.evidence_due_by) < now;
  return (
    <span className={late ? 'text-danger' : undefined}>
      {formatDateTime(dispute.evidence_due_by)}
      {late && ' (past)'}
    </span>
  );
}

/** Disputes as a table: with a link to each payment, unless they are all of one payment. */
export function DisputesTable({ rows, withPayment }: { rows: Web.Dispute[]; withPayment: boolean }) {
  const [now] = useState(Date.now);
  return (
    <DataTable
      caption="Disputes"
      rows={rows}
      rowKey={(dispute) => dispute.id}
      columns={[
        { header: 'Opened', cell: (dispute) => formatDateTime(dispute.created_at) },
        {
          header: 'Amount',
          numeric: true,
          cell: (dispute) => <Money amount={dispute.amount} currency={dispute.currency} />,
        },
        { header: 'Reason', cell: (dispute) => disputeReason(dispute.reason) },
        { header: 'Status', cell: (dispute) => <Badge value={dispute.status} /> },
        { header: 'Answer by', cell: (dispute) => <RespondBy dispute={dispute} now={now} /> },
        { header: 'Gateway', cell: (dispute) => label(dispute.gateway) },
        ...(withPayment
          ? [
              {
                header: 'Payment',
                cell: (dispute: Web.Dispute) => (
                  <Link to={`/payments/${dispute.payment_id}`}>View payment</Link>
                ),
              },
            ]
          : []),
      ]}
    />
  );
}
