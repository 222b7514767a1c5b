import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Button, FormError, PageHeader, TextField } from '../components/ui';
import { api } from '../lib/api';
import { useFieldErrors } from '../lib/forms';

interface GatewaySpec {
  gateway: string;
  title: string;
  fields: { name: string; label: string; secret?: boolean; optional?: boolean }[];
}

/** Each gateway's credentials, as the merchant's account with that gateway issues them. */
const GATEWAYS: GatewaySpec[] = [
  {
    gateway: 'stripe',
    title: 'Stripe',
    fields: [
      { name: 'secret_key', label: 'Secret key', secret: true },
      { name: 'webhook_secret', label: 'Webhook signing secret', secret: true },
    ],
  },
  {
    gateway: 'square',
    title: 'Square',
    fields: [
      { name: 'access_token', label: 'Access token', secret: true },
      { name: 'location_id', label: 'Location ID' },
      { name: 'webhook_signature_key', label: 'Webhook signature key', secret: true },
    ],
  },
  {
    gateway: 'paypal',
    title: 'PayPal',
    fields: [
      { name: 'client_id', label: 'Client ID' },
      { name: 'client_secret', label: 'Client secret', secret: true },
      { name: 'webhook_id', label: 'Webhook ID' },
    ],
  },
];

function GatewayForm({ spec }: { spec: GatewaySpec }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const fields = useFieldErrors();
  const save = useMutation({
    mutationFn: (body: Record<string, string>) =>
      api(`/tenants/current/gateways/${spec.gateway}`, { method: 'PUT', body }),
    // Secrets are never shown again once saved: the form empties.
    onSuccess: () => setValues({}),
    onError: (error) =>
      fields.fromApi(
        error,
        spec.fields.map((field) => field.name),
      ),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const found: Record<string, string> = {};
    for (const field of spec.fields) {
      if (!field.optional && !values[field.name]?.trim())
        found[field.name] = `Enter the ${field.label.toLowerCase()}.`;
    }
    if (fields.check(found)) {
      save.mutate(Object.fromEntries(Object.entries(values).map(([name, value]) => [name, value.trim()])));
    }
  };
  return (
    <form className="card form" onSubmit={onSubmit} noValidate aria-labelledby={`${spec.gateway}-title`}>
      <h2 id={`${spec.gateway}-title`}>{spec.title}</h2>
      {spec.fields.map((field) => (
        <TextField
          key={field.name}
          label={field.label}
          type={field.secret ? 'password' : 'text'}
          autoComplete="off"
          value={values[field.name] ?? ''}
          error={fields.errors[field.name]}
          onChange={(event) => {
            const value = event.target.value;
            setValues((current) => ({ ...current, [field.name]: value }));
            fields.clear(field.name);
          }}
        />
      ))}
      {save.isError && Object.keys(fields.errors).length === 0 && <FormError error={save.error} />}
      {save.isSuccess && <p role="status">{spec.title} settings saved. They are stored encrypted.</p>}
      <Button type="submit" busy={save.isPending}>
        Save {spec.title}
      </Button>
    </form>
  );
}

export default function Settings() {
  return (
    <>
      <PageHeader title="Settings">
        <p className="muted">
          Connect your own payment gateway accounts. Saved credentials are encrypted and never displayed
          again; save new ones to replace them.
        </p>
      </PageHeader>
      <div className="grid-3">
        {GATEWAYS.map((spec) => (
          <GatewayForm key={spec.gateway} spec={spec} />
        ))}
      </div>
    </>
  );
}
