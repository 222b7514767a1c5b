import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { Button, FormError, PageHeader, TextField } from '../../components/ui';
import { api } from '../../lib/api';
import { emailProblem, useFieldErrors } from '../../lib/forms';

export default function ForgotPassword() {
  const [email, setEmail] = useState('');
  const fields = useFieldErrors();
  const submit = useMutation({
    mutationFn: (address: string) =>
      api('/auth/forgot-password', { method: 'POST', body: { email: address }, auth: false }),
    onError: (error) => fields.fromApi(error, ['email']),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problem = emailProblem(email);
    if (fields.check(problem ? { email: problem } : {})) submit.mutate(email.trim());
  };
  if (submit.isSuccess) {
    return (
      <>
        <PageHeader title="Check your mail" />
        <p role="status">
          If an account uses {email.trim()}, a link to choose a new password is on its way. It works for 30
          minutes.
        </p>
        <p className="links">
          <Link to="/login">Back to sign in</Link>
        </p>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Forgot your password?" />
      <p>Enter your e-mail address and we will mail you a link to choose a new one.</p>
      <form onSubmit={onSubmit} noValidate>
        <TextField
          label="E-mail"
          type="email"
          autoComplete="email"
          value={email}
          error={fields.errors.email}
          onChange={(event) => {
            setEmail(event.target.value);
            fields.clear('email');
          }}
          required
        />
        {submit.isError && !fields.errors.email && <FormError error={submit.error} />}
        <Button type="submit" busy={submit.isPending}>
          Send the link
        </Button>
      </form>
      <p className="links">
        <Link to="/login">Back to sign in</Link>
      </p>
    </>
  );
}
