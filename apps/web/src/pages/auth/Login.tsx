import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Button, FormError, PageHeader, SelectField, TextField } from '../../components/ui';
import { knownBusinesses, login, useSession, type LoginInput } from '../../lib/auth';
import { emailProblem, useFieldErrors } from '../../lib/forms';
import { ApiError } from '../../lib/problem';

/** Only paths of this app are followed after signing in (no open redirect). */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export default function Login() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { endedReason } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [tenantId, setTenantId] = useState('');
  const fields = useFieldErrors();
  const businesses = knownBusinesses(email);
  const submit = useMutation({
    mutationFn: (input: LoginInput) => login(input),
    onSuccess: () => void navigate(safeNext(params.get('next')), { replace: true }),
    onError: (error) => fields.fromApi(error, ['email', 'password', 'tenant_id']),
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problem = emailProblem(email);
    const valid = fields.check({
      ...(problem ? { email: problem } : {}),
      ...(password ? {} : { password: 'Enter your password.' }),
    });
    const chosen = businesses.length > 1 ? tenantId || businesses[0]?.id : undefined;
    if (valid) submit.mutate({ email: email.trim(), password, ...(chosen ? { tenant_id: chosen } : {}) });
  };

  return (
    <>
      <PageHeader title="Sign in" />
      {endedReason && (
        <p className="alert alert-info" role="status">
          {endedReason}
        </p>
      )}
      <form onSubmit={onSubmit} noValidate>
        <TextField
          label="E-mail"
          type="email"
          autoComplete="username"
          value={email}
          error={fields.errors.email}
          onChange={(event) => {
            setEmail(event.target.value);
            fields.clear('email');
          }}
          required
        />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          error={fields.errors.password}
          onChange={(event) => {
            setPassword(event.target.value);
            fields.clear('password');
          }}
          required
        />
        {businesses.length > 1 && (
          <SelectField
            label="Business"
            hint="You belong to several businesses: choose the one to open."
            value={tenantId || businesses[0]!.id}
            error={fields.errors.tenant_id}
            onChange={(event) => setTenantId(event.target.value)}
          >
            {businesses.map((business) => (
              <option key={business.id} value={business.id}>
                {business.name}
              </option>
            ))}
          </SelectField>
        )}
        {submit.isError && Object.keys(fields.errors).length === 0 && (
          <FormError
            error={
              submit.error instanceof ApiError && submit.error.code === 'invalid_credentials'
                ? new Error('That e-mail and password do not match an account.')
                : submit.error
            }
          />
        )}
        <Button type="submit" busy={submit.isPending}>
          Sign in
        </Button>
      </form>
      <p className="links">
        <Link to="/forgot-password">Forgot your password?</Link>
        <Link to="/register">Create a business</Link>
      </p>
    </>
  );
}
