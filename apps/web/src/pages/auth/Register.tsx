import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { Button, FormError, PageHeader, TextField } from '../../components/ui';
import { register, type RegisterInput } from '../../lib/auth';
import {
  emailProblem,
  passwordProblem,
  requiredProblem,
  useFieldErrors,
  type FieldErrors,
} from '../../lib/forms';
import { NewPasswordField } from './PasswordField';

export function registrationProblems(values: { email: string; password: string; name: string }): FieldErrors {
  const found: FieldErrors = {};
  const email = emailProblem(values.email);
  const password = passwordProblem(values.password);
  const name = requiredProblem(values.name, 'your name');
  if (name) found.name = name;
  if (email) found.email = email;
  if (password) found.password = password;
  return found;
}

const FIELDS = ['name', 'email', 'password', 'tenant_name'];

export default function Register() {
  const navigate = useNavigate();
  const [values, setValues] = useState({ tenant_name: '', name: '', email: '', password: '' });
  const fields = useFieldErrors();
  const submit = useMutation({
    mutationFn: (input: RegisterInput) => register(input),
    onSuccess: () => void navigate('/', { replace: true }),
    onError: (error) => fields.fromApi(error, FIELDS, { email_taken: 'email' }),
  });
  const set = (name: keyof typeof values) => (value: string) => {
    setValues((current) => ({ ...current, [name]: value }));
    fields.clear(name);
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const found = registrationProblems(values);
    const business = requiredProblem(values.tenant_name, 'the name of your business');
    if (business) found.tenant_name = business;
    if (fields.check(found)) {
      submit.mutate({
        ...values,
        email: values.email.trim(),
        name: values.name.trim(),
        tenant_name: values.tenant_name.trim(),
      });
    }
  };

  const fieldError = submit.isError && Object.keys(fields.errors).length > 0;
  return (
    <>
      <PageHeader title="Create your business" />
      <form onSubmit={onSubmit} noValidate>
        <TextField
          label="Business name"
          autoComplete="organization"
          value={values.tenant_name}
          error={fields.errors.tenant_name}
          onChange={(event) => set('tenant_name')(event.target.value)}
          required
        />
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
          value={values.email}
          error={fields.errors.email}
          onChange={(event) => set('email')(event.target.value)}
          required
        />
        <NewPasswordField value={values.password} error={fields.errors.password} onChange={set('password')} />
        {submit.isError && !fieldError && <FormError error={submit.error} />}
        <Button type="submit" busy={submit.isPending}>
          Create business
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
