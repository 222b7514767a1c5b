import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { Button, FormError, PageHeader, SelectField, TextField } from '../../components/ui';
import { login, useSession, type LoginInput } from '../../lib/auth';
import { emailProblem, useFieldErrors } from '../../lib/forms';
import { ApiError } from '../../lib/problem';

interface TenantChoice {
  id: string;
  name: string;
}

/** The memberships an ambiguous login answered with, whatever the API calls the list. */
function tenantChoices(error: unknown): TenantChoice[] | null {
  if (!(error instanceof ApiError)) return null;
  const list = error.problem.tenants ?? error.problem.memberships;
  if (!Array.isArray(list) || list.length === 0) return null;
  return list
    .map((entry: { id?: string; tenant_id?: string; name?: string; tenant_name?: string }) => ({
      id: entry.id ?? entry.tenant_id ?? '',
      name: entry.name ?? entry.tenant_name ?? entry.id ?? '',
    }))
    .filter((choice) => choice.id);
}

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
  const [tenants, setTenants] = useState<TenantChoice[] | null>(null);
  const [tenantId, setTenantId] = useState('');
  const fields = useFieldErrors();
  const submit = useMutation({
    mutationFn: (input: LoginInput) => login(input),
    onSuccess: () => void navigate(safeNext(params.get('next')), { replace: true }),
    onError: (error) => {
      const choices = tenantChoices(error);
      if (choices) {
        setTenants(choices);
        setTenantId(choices[0]?.id ?? '');
        return;
      }
      fields.fromApi(error, ['email', 'password', 'tenant_id']);
    },
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const valid = fields.check({
      ...(emailProblem(email) ? { email: emailProblem(email)! } : {}),
      ...(password ? {} : { password: 'Enter your password.' }),
    });
    if (valid)
      submit.mutate({
        email: email.trim(),
        password,
        ...(tenants && tenantId ? { tenant_id: tenantId } : {}),
      });
  };

  const choosing = tenants !== null && !submit.isPending;
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
            setTenants(null);
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
        {choosing && (
          <SelectField
            label="Business"
            hint="You belong to several businesses: choose the one to open."
            value={tenantId}
            onChange={(event) => setTenantId(event.target.value)}
          >
            {tenants.map((tenant) => (
              <option key={tenant.id} value={tenant.id}>
                {tenant.name}
              </option>
            ))}
          </SelectField>
        )}
        {submit.isError && !tenantChoices(submit.error) && (
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
