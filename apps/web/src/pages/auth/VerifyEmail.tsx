import { useMutation } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Loading, PageHeader } from '../../components/ui';
import { api } from '../../lib/api';
import { reloadMe, useSession } from '../../lib/auth';
import { ApiError, errorMessage } from '../../lib/problem';

export default function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { status, user } = useSession();
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

  const signedIn = status === 'signed_in';
  const next = signedIn ? { to: '/', text: 'Continue to Tessera' } : { to: '/login', text: 'Sign in' };
  // A link used already or expired (the API does not say which); or cut short in the mail, which
  // the API refuses as a bad token before looking it up.
  const spent = verify.error instanceof ApiError && verify.error.code === 'invalid_token';
  const cutShort =
    verify.error instanceof ApiError && verify.error.fieldErrors.some((field) => field.path === 'token');
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
      {verify.isError &&
        ((spent || cutShort) && user?.email_verified ? (
          <p role="status">
            Your e-mail address {user.email} is already verified: there is nothing more to do.
          </p>
        ) : (
          <p className="alert alert-error" role="alert">
            {spent
              ? `This link no longer works: it was used already, or it has expired. ${
                  signedIn
                    ? 'Continue to Tessera and choose “Send the link again” at the top of the page.'
                    : 'If your address is not verified yet, sign in and ask for a new link.'
                }`
              : cutShort
                ? 'This link is incomplete. Open the link from the mail again.'
                : errorMessage(verify.error)}
          </p>
        ))}
      <Link to={next.to} className="button button-primary">
        {next.text}
      </Link>
    </>
  );
}
