import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Button, FormError, PageHeader, TextField } from '../../components/ui';
import { register, type RegisterInput } from '../../lib/auth';
import { useFieldErrors } from '../../lib/forms';
import { NewPasswordField } from './PasswordField';
import { registrationProblems } from './Register';

export default function AcceptInvitation() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const token = params.get('token') ?? '';
  const [values, setValues] = useState({ name: '', email: params.get('email') ?? '', password: '' });
  const fields = useFieldErrors();
  const submit = useMutation({
    mutationFn: (input: RegisterInput) => register(input),
    onSuccess: () => void navigate('/', { replace: true }),
    onError: (error) => fields.fromApi(error, ['name', 'email', 'password'], { email_taken: 'email' }),
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
      <p>You were invited to a business on Tessera. Create your account to join it.</p>
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
        {submit.isError && Object.keys(fields.errors).length === 0 && <FormError error={submit.error} />}
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
