import { useMutation } from '@tanstack/react-query';
import { Button } from '../components/ui';
import { api } from '../lib/api';
import { errorMessage } from '../lib/problem';

/** Shown until the user's e-mail address is verified, with a way to get the mail again. */
export function VerifyBanner() {
  const resend = useMutation({ mutationFn: () => api('/auth/verify-email/resend', { method: 'POST' }) });
  return (
    <div className="banner" role="region" aria-label="E-mail verification">
      <p>Please verify your e-mail address: open the link we mailed you.</p>
      {resend.isSuccess ? (
        <p role="status">A new link is on its way.</p>
      ) : (
        <Button variant="secondary" busy={resend.isPending} onClick={() => resend.mutate()}>
          Send the link again
        </Button>
      )}
      {resend.isError && <p role="alert">{errorMessage(resend.error)}</p>}
    </div>
  );
}
