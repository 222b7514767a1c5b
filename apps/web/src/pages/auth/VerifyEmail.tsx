import { useMutation } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Loading, PageHeader } from '../../components/ui';
import { api } from '../../lib/api';
import { reloadMe, useSession } from '../../lib/auth';
import { errorMessage } from '../../lib/problem';

export default function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { status } = useSession();
  const verify = useMutation({
    mutationFn: async () => {
      await api('/auth/verify-email', { method: 'POST', body: { token }, auth: false });
      if (status === 'signed_in') await reloadMe().catch(() => undefined);
    },
  });
  const { mutate } = verify;
  useEffect(() => {
    if (token) mutate();
  }, [token, mutate]);

  const next =
    status === 'signed_in' ? { to: '/', text: 'Continue to Tessera' } : { to: '/login', text: 'Sign in' };
  return (
    <>
      <PageHeader title="Verify your e-mail" />
      {!token && (
        <p className="alert alert-error" role="alert">
          This link has no token. Open the link from the mail again.
        </p>
      )}
      {verify.isPending && <Loading label="Verifying…" />}
      {verify.isSuccess && <p role="status">Your e-mail address is verified. Thank you!</p>}
      {verify.isError && (
        <p className="alert alert-error" role="alert">
          {errorMessage(verify.error)} The link may have expired: sign in and ask for a new one.
        </p>
      )}
      <Link to={next.to} className="button button-primary">
        {next.text}
      </Link>
    </>
  );
}
