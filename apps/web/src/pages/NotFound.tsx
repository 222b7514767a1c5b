import { Link } from 'react-router';
import { PageHeader } from '../components/ui';

export default function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>There is nothing at this address. It may have moved, or the link may be mistyped.</p>
      <Link to="/" className="button button-primary">
        Go to the start page
      </Link>
    </>
  );
}
