import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { Button, FormError, PageHeader, TextField } from '../../components/ui';
import { api } from '../../lib/api';
import { passwordProblem, useFieldErrors, type FieldErrors } from '../../lib/forms';
import { ApiError } from '../../lib/problem';
import { NewPasswordField } from './PasswordField';

export default function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const fields = useFieldErrors();
  const submit = useMutation({
    mutationFn: () => api('/auth/reset-password', { method: 'POST', body: { token, password }, auth: false }),
    onError: (error) => fields.fromApi(error, ['password']),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const found: FieldErrors = {};
    const problem = passwordProblem(password);
    if (problem) found.password = problem;
    else if (confirm !== password) found.confirm = 'The two passwords differ.';
    if (fields.check(found)) submit.mutate();
  };

  if (!token) {
    return (
      <>
        <PageHeader title="Choose a new password" />
        <p className="alert alert-error" role="alert">
          This link has no token. Open the link from the mail again, or ask for a new one.
        </p>
        <Link to="/forgot-password">Ask for a new link</Link>
      </>
    );
  }
  if (submit.isSuccess) {
    return (
      <>
        <PageHeader title="Password changed" />
        <p role="status">
          Your new password is set, and every device that was signed in has been signed out.
        </p>
        <Link to="/login" className="button button-primary">
          Sign in
        </Link>
      </>
    );
  }
  const tokenRefused =
    submit.error instanceof ApiError && submit.error.status !== 400 && submit.error.code !== 'rate_limited';
  return (
    <>
      <PageHeader title="Choose a new password" />
      <form onSubmit={onSubmit} noValidate>
        <NewPasswordField
          label="New password"
          value={password}
          error={fields.errors.password}
          onChange={(value) => {
            setPassword(value);
            fields.clear('password');
          }}
        />
        <TextField
          label="Repeat the new password"
          type="password"
          autoComplete="new-password"
          value={confirm}
          error={fields.errors.confirm}
          onChange={(event) => {
            setConfirm(event.target.value);
            fields.clear('confirm');
          }}
          required
        />
        {submit.isError && !fields.errors.password && (
          <FormError
            error={
              tokenRefused
                ? new Error('This link has expired or was already used. Ask for a new one.')
                : submit.error
            }
          />
        )}
        <Button type="submit" busy={submit.isPending}>
          Set new password
        </Button>
      </form>
      <p className="links">
        <Link to="/forgot-password">Ask for a new link</Link>
      </p>
    </>
  );
}
