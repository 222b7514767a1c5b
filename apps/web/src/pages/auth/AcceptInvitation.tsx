import type { Web } from '@tessera/contracts';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Button, ErrorState, FormError, Loading, PageHeader, TextField } from '../../components/ui';
import { api } from '../../lib/api';
import { register, type RegisterInput } from '../../lib/auth';
import { formatDateTime, label } from '../../lib/format';
import { passwordProblem, requiredProblem, useFieldErrors } from '../../lib/forms';
import { ApiError } from '../../lib/problem';
import { NewPasswordField } from './PasswordField';

/**
 * The API answers `invalid_token` for every link that cannot be used, whatever happened to it, and
 * for one that stopped working between opening it and joining.
 */
const isDeadLink = (error: unknown) => error instanceof ApiError && error.code === 'invalid_token';

/** Why the API refused to join, in words for the person invited (a dead link has a view of its own). */
function refusal(error: unknown): unknown {
  if (error instanceof ApiError && error.code === 'already_member')
    return new Error('You already belong to this business: sign in to open it.');
  return error;
}

const roleList = new Intl.ListFormat('en', { type: 'conjunction' });

function JoinForm({ token, invitation }: { token: string; invitation: Web.InvitationPreview }) {
  const navigate = useNavigate();
  const existing = invitation.existing_account;
  const [values, setValues] = useState({ name: '', password: '' });
  const fields = useFieldErrors();
  const submit = useMutation({
    mutationFn: (input: RegisterInput) => register(input),
    onSuccess: () => void navigate('/', { replace: true }),
    onError: (error) => {
      // A wrong password for the account, or an account made for the address since the page opened.
      if (error instanceof ApiError && error.code === 'email_taken') {
        fields.check({
          password: existing
            ? 'This is not the password of your Tessera account. Try again, or choose “Forgot your password?”.'
            : 'This e-mail address already has a Tessera account: enter its password to join.',
        });
      } else fields.fromApi(error, ['name', 'password']);
    },
  });
  const set = (name: keyof typeof values) => (value: string) => {
    setValues((current) => ({ ...current, [name]: value }));
    fields.clear(name);
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const name = existing ? undefined : requiredProblem(values.name, 'your name');
    const password = existing
      ? requiredProblem(values.password, 'your password')
      : passwordProblem(values.password);
    if (!fields.check({ ...(name ? { name } : {}), ...(password ? { password } : {}) })) return;
    const joining = { email: invitation.email, password: values.password, invitation_token: token };
    // An existing account keeps its name, so none is sent (the API asks a name of new accounts only).
    submit.mutate(existing ? joining : { ...joining, name: values.name.trim() });
  };
  if (isDeadLink(submit.error)) return <DeadLink />;
  return (
    <>
      <p>
        <strong>{invitation.business_name}</strong> invited <strong>{invitation.email}</strong> to join as{' '}
        {roleList.format(invitation.roles.map(label))}. The invitation is open until{' '}
        {formatDateTime(invitation.expires_at)}.
      </p>
      <p>
        {existing
          ? 'This e-mail address already has a Tessera account: enter its password to join.'
          : 'Create your Tessera account to join.'}
      </p>
      <form onSubmit={onSubmit} noValidate>
        {!existing && (
          <TextField
            label="Your name"
            autoComplete="name"
            value={values.name}
            error={fields.errors.name}
            onChange={(event) => set('name')(event.target.value)}
            required
          />
        )}
        <TextField
          label="E-mail"
          type="email"
          autoComplete="username"
          hint="The invitation was sent to this address, and works for it only."
          value={invitation.email}
          readOnly
        />
        {existing ? (
          <TextField
            label="Password"
            type="password"
            autoComplete="current-password"
            value={values.password}
            error={fields.errors.password}
            onChange={(event) => set('password')(event.target.value)}
            required
          />
        ) : (
          <NewPasswordField
            value={values.password}
            error={fields.errors.password}
            onChange={set('password')}
          />
        )}
        {submit.isError && Object.keys(fields.errors).length === 0 && (
          <FormError error={refusal(submit.error)} />
        )}
        <Button type="submit" busy={submit.isPending}>
          Join {invitation.business_name}
        </Button>
      </form>
      {existing && (
        <p className="links">
          <Link to="/forgot-password">Forgot your password?</Link>
        </p>
      )}
    </>
  );
}

function DeadLink() {
  return (
    <>
      <p className="alert alert-error" role="alert">
        This invitation link has been used, withdrawn or has expired. Ask the person who invited you for a new
        one.
      </p>
      <p className="links">
        <span>
          Joined already? <Link to="/login">Sign in</Link>
        </span>
      </p>
    </>
  );
}

export default function AcceptInvitation() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  // Looking the link up spends nothing; it is read once, not again when the window regains focus.
  const lookup = useQuery({
    queryKey: ['invitation-link', token],
    queryFn: ({ signal }) =>
      api<Web.InvitationPreview>(`/auth/invitations/${encodeURIComponent(token)}`, { auth: false, signal }),
    enabled: token !== '',
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
  let content;
  if (!token) {
    content = (
      <p className="alert alert-error" role="alert">
        This link has no invitation token. Open the link from the invitation mail again.
      </p>
    );
  } else if (lookup.isPending) {
    content = <Loading label="Opening your invitation…" />;
  } else if (lookup.isError) {
    content = isDeadLink(lookup.error) ? (
      <DeadLink />
    ) : (
      <ErrorState error={lookup.error} retry={() => void lookup.refetch()} />
    );
  } else {
    content = <JoinForm token={token} invitation={lookup.data} />;
  }
  return (
    <>
      <PageHeader title="Join your team" />
      {content}
    </>
  );
}
