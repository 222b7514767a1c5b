import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Button, FormError, PageHeader, TextField } from '../../components/ui';
import { register, type RegisterInput } from '../../lib/auth';
import { useFieldErrors } from '../../lib/forms';
import { ApiError } from '../../lib/problem';
import { NewPasswordField } from './PasswordField';
import { registrationProblems } from './Register';

/**
 * Why the API refused to join, in words for the person invited. `invalid_token` stands for two
 * things the API does not tell apart by code: an invitation used, revoked or expired, and an
 * address other than the one invited.
 */
function refusal(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.fieldErrors.some((field) => field.path === 'invitation_token'))
    return new Error('This invitation link is incomplete. Open the link from the invitation mail again.');
  switch (error.code) {
    case 'invalid_token':
      return new Error(
        'This invitation cannot be used with this e-mail address. Check that it is the address the ' +
          'invitation was sent to; if it is, the invitation was already used, revoked or has expired: ' +
          'ask whoever invited you for a new one.',
      );
    case 'already_member':
      return new Error('You already belong to this business: sign in to open it.');
    default:
      return error;
  }
}

export default function AcceptInvitation() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const token = params.get('token') ?? '';
  const [values, setValues] = useState({ name: '', email: params.get('email') ?? '', password: '' });
  const fields = useFieldErrors();
  const submit = useMutation({
    mutationFn: (input: RegisterInput) => register(input),
    onSuccess: () => void navigate('/', { replace: true }),
    onError: (error) => {
      // An account of that address exists: joining takes its password, not a new one.
      if (error instanceof ApiError && error.code === 'email_taken') {
        fields.check({
          password: 'This e-mail address already has a Tessera account: enter its password to join.',
        });
      } else fields.fromApi(error, ['name', 'email', 'password']);
    },
  });
  const set = (name: keyof typeof values) => (value: string) => {
    setValues((current) => ({ ...current, [name]: value }));
    fields.clear(name);
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (fields.check(registrationProblems(values))) {
      submit.mutate({
        ...values,
        email: values.email.trim(),
        name: values.name.trim(),
        invitation_token: token,
      });
    }
  };
  if (!token) {
    return (
      <>
        <PageHeader title="Join your team" />
        <p className="alert alert-error" role="alert">
          This link has no invitation token. Open the link from the invitation mail again.
        </p>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Join your team" />
      <p>
        You were invited to a business on Tessera. Create your account to join it; if you already have a
        Tessera account, enter its e-mail address and password.
      </p>
      <form onSubmit={onSubmit} noValidate>
        <TextField
          label="Your name"
          autoComplete="name"
          value={values.name}
          error={fields.errors.name}
          onChange={(event) => set('name')(event.target.value)}
          required
        />
        <TextField
          label="E-mail"
          type="email"
          autoComplete="email"
          hint="The address the invitation was sent to."
          value={values.email}
          error={fields.errors.email}
          onChange={(event) => set('email')(event.target.value)}
          required
        />
        <NewPasswordField value={values.password} error={fields.errors.password} onChange={set('password')} />
        {submit.isError && Object.keys(fields.errors).length === 0 && (
          <FormError error={refusal(submit.error)} />
        )}
        <Button type="submit" busy={submit.isPending}>
          Join
        </Button>
      </form>
      <p className="links">
        <span>
          Already have an account? <Link to="/login">Sign in</Link>
        </span>
      </p>
    </>
  );
}
