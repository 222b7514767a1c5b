import { Link } from 'react-router';
import { PageHeader } from '../components/ui';

export default function Forbidden() {
  return (
    <>
      <PageHeader title="No access" />
      <p>Your role does not allow this page. Ask an administrator of your business if you need it.</p>
      <Link to="/" className="button button-primary">
        Go to the start page
      </Link>
    </>
  );
}
