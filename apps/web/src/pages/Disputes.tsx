import type { Web } from '@tessera/contracts';
import { DISPUTE_STATUSES } from '@tessera/contracts/statuses';
import { DisputesTable } from '../components/disputes';
import { LoadMore } from '../components/LoadMore';
import { EmptyState, ErrorState, Loading, PageHeader, SelectField } from '../components/ui';
import { usePagedList, useStatusParam } from '../lib/queries';

const SHOWN: { value: Web.DisputeStatus | 'all'; label: string }[] = [
  { value: 'needs_response', label: 'Waiting for our answer' },
  { value: 'under_review', label: 'Under review' },
  { value: 'won', label: 'Won' },
  { value: 'lost', label: 'Lost' },
  { value: 'all', label: 'All' },
];

/**
 * Disputes (chargebacks) the gateways told of. They are answered in the gateway's own dashboard,
 * with the evidence it asks for; this page says which wait for an answer, and by when.
 */
export default function Disputes() {
  const [status, setStatus] = useStatusParam(DISPUTE_STATUSES, 'needs_response');
  const list = usePagedList<Web.Dispute>(
    ['disputes', 'list'],
    '/commerce/disputes',
    status === 'all' ? {} : { status },
  );
  return (
    <>
      <PageHeader title="Disputes">
        <p className="muted">
          Chargebacks and inquiries from customers&rsquo; banks. Answer them in the gateway&rsquo;s dashboard
          before the date shown.
        </p>
      </PageHeader>
      <div className="filters">
        <SelectField label="Show" value={status} onChange={(event) => setStatus(event.target.value)}>
          {SHOWN.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </SelectField>
      </div>
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.items.length === 0 ? (
        <>
          <EmptyState
            title={status === 'needs_response' ? 'No dispute waits for an answer.' : 'No disputes here.'}
          />
          <LoadMore {...list} />
        </>
      ) : (
        <>
          <DisputesTable rows={list.items} withPayment />
          <LoadMore {...list} />
        </>
      )}
    </>
  );
}
