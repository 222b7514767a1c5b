import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { Web } from '@tessera/contracts';
import {
  Badge,
  Button,
  ConfirmDialog,
  ErrorState,
  FormError,
  Loading,
  PageHeader,
  SelectField,
  TextField,
} from '../components/ui';
import { api } from '../lib/api';
import { formatDateTime, setTimeZone } from '../lib/format';
import { apiFieldErrors, useFieldErrors, type FieldErrors } from '../lib/forms';
import { timeZoneChoices, zoneLabel } from '../lib/time-zones';

/** GET /tenants/current/gateways: what is configured, never the secrets themselves. */
interface GatewaySettingsView {
  gateway: string;
  configured: boolean;
  source: 'tenant' | 'environment' | null;
  settings: Record<string, string>;
  secrets_set: string[];
  updated_at: string | null;
}

interface GatewayField {
  name: string;
  label: string;
  secret?: boolean;
  optional?: boolean;
  /** The form the gateway gives it, where that is certain (the API checks the same). */
  format?: { pattern: RegExp; problem: string };
}

interface GatewaySpec {
  gateway: 'stripe' | 'square' | 'paypal';
  title: string;
  fields: GatewayField[];
  /** The webhook events to send (docs/operations.md, "Gateway webhooks"). */
  events: string[];
}

/** Each gateway's credentials, as the merchant's account with that gateway issues them. */
const GATEWAYS: GatewaySpec[] = [
  {
    gateway: 'stripe',
    title: 'Stripe',
    fields: [
      {
        name: 'secret_key',
        label: 'Secret key',
        secret: true,
        format: {
          pattern: /^[rs]k_(test|live)_\S+$/,
          problem:
            'Enter a secret key from your Stripe dashboard (Developers, API keys). It starts with sk_live_ or ' +
            'sk_test_, or rk_live_ or rk_test_ for a restricted key.',
        },
      },
      {
        name: 'webhook_secret',
        label: 'Webhook signing secret',
        secret: true,
        format: {
          pattern: /^whsec_\S+$/,
          problem:
            'Enter the signing secret of your webhook endpoint in the Stripe dashboard. It starts with whsec_.',
        },
      },
    ],
    events: [
      'payment_intent.amount_capturable_updated',
      'payment_intent.succeeded',
      'payment_intent.payment_failed',
      'payment_intent.canceled',
      'payment_intent.processing',
      'refund.created',
      'refund.updated',
      'refund.failed',
      'charge.dispute.created',
      'charge.dispute.updated',
      'charge.dispute.closed',
    ],
  },
  {
    gateway: 'square',
    title: 'Square',
    fields: [
      { name: 'access_token', label: 'Access token', secret: true },
      { name: 'location_id', label: 'Location ID' },
      { name: 'device_id', label: 'Terminal device ID', optional: true },
      { name: 'webhook_signature_key', label: 'Webhook signature key', secret: true },
    ],
    events: [
      'payment.created',
      'payment.updated',
      'refund.created',
      'refund.updated',
      'terminal.checkout.updated',
      'dispute.created',
      'dispute.state.updated',
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
    events: [
      'CHECKOUT.ORDER.APPROVED',
      'PAYMENT.AUTHORIZATION.CREATED',
      'PAYMENT.AUTHORIZATION.VOIDED',
      'PAYMENT.CAPTURE.COMPLETED',
      'PAYMENT.CAPTURE.PENDING',
      'PAYMENT.CAPTURE.DENIED',
      'PAYMENT.CAPTURE.DECLINED',
      'PAYMENT.CAPTURE.REFUNDED',
      'PAYMENT.CAPTURE.REVERSED',
      'CUSTOMER.DISPUTE.CREATED',
      'CUSTOMER.DISPUTE.UPDATED',
      'CUSTOMER.DISPUTE.RESOLVED',
    ],
  },
];

function statusOf(view: GatewaySettingsView | undefined): string {
  if (!view?.configured) return 'not_configured';
  return view.source === 'tenant' ? 'configured' : 'platform_default';
}

/** What is wrong with what was typed into a gateway's fields: the gateway's own format, where certain. */
function formatProblems(spec: GatewaySpec, values: Record<string, string>): FieldErrors {
  const found: FieldErrors = {};
  for (const field of spec.fields) {
    const value = values[field.name]?.trim();
    if (value && field.format && !field.format.pattern.test(value)) found[field.name] = field.format.problem;
  }
  return found;
}

function GatewayForm({ spec, view }: { spec: GatewaySpec; view: GatewaySettingsView | undefined }) {
  const queryClient = useQueryClient();
  const [values, setValues] = useState<Record<string, string>>(() => ({ ...view?.settings }));
  const [removing, setRemoving] = useState(false);
  const [removed, setRemoved] = useState(false);
  const removedNote = useRef<HTMLParagraphElement>(null);
  const fields = useFieldErrors();
  const own = view?.source === 'tenant';
  const names = spec.fields.map((field) => field.name);
  const save = useMutation({
    mutationFn: (body: Record<string, string>) =>
      api<GatewaySettingsView>(`/tenants/current/gateways/${spec.gateway}`, { method: 'PUT', body }),
    onSuccess: async (saved) => {
      // Secrets are never shown again once saved: their fields empty.
      setValues({ ...saved.settings });
      await queryClient.invalidateQueries({ queryKey: ['gateways'] });
    },
    onError: (error) => {
      // The API's words for a field in the wrong format are for developers; the form has its own.
      const found = apiFieldErrors(error, names);
      for (const field of spec.fields)
        if (found[field.name] && field.format) found[field.name] = field.format.problem;
      fields.check(found);
    },
  });
  const remove = useMutation({
    mutationFn: () => api(`/tenants/current/gateways/${spec.gateway}`, { method: 'DELETE' }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['gateways'] });
      save.reset();
      setValues({});
      setRemoving(false);
      setRemoved(true);
    },
  });
  // The button that opened the question is gone with the account: the outcome takes focus.
  useEffect(() => {
    if (removed) removedNote.current?.focus();
  }, [removed]);
  const isSet = (name: string) => own && (view?.secrets_set.includes(name) || Boolean(view?.settings[name]));
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setRemoved(false);
    const found = formatProblems(spec, values);
    for (const field of spec.fields) {
      // A secret already stored may stay as it is: leave its field empty.
      if (!field.optional && !values[field.name]?.trim() && !isSet(field.name)) {
        found[field.name] = `Enter the ${field.label.toLowerCase()}.`;
      }
    }
    if (fields.check(found)) {
      const body = Object.fromEntries(
        Object.entries(values)
          .map(([name, value]) => [name, value.trim()] as const)
          .filter(([, value]) => value !== ''),
      );
      save.mutate(body);
    }
  };
  return (
    <form className="card form" onSubmit={onSubmit} noValidate aria-labelledby={`${spec.gateway}-title`}>
      <h2 id={`${spec.gateway}-title`}>{spec.title}</h2>
      <p className="badges">
        <Badge value={statusOf(view)} />
        {view?.updated_at && <span className="muted">Saved {formatDateTime(view.updated_at)}</span>}
      </p>
      <p className="hint webhook-endpoint">
        Webhook endpoint to enter in your {spec.title} account:{' '}
        {/* A narrow card breaks the address after a slash of its path rather than inside a word. */}
        <code className="break">
          {window.location.origin}/<wbr />
          webhooks/
          <wbr />
          {spec.gateway}
        </code>
      </p>
      <details className="hint webhook-events">
        <summary>Events to send there</summary>
        <ul>
          {spec.events.map((event) => (
            <li key={event}>
              <code>{event}</code>
            </li>
          ))}
        </ul>
        Refunds made in your {spec.title} account are recorded here from these events.
      </details>
      {spec.fields.map((field) => (
        <TextField
          key={field.name}
          label={field.optional ? `${field.label} (optional)` : field.label}
          type={field.secret ? 'password' : 'text'}
          autoComplete="off"
          hint={
            field.secret && isSet(field.name)
              ? 'Stored. Leave empty to keep it, or enter a new one.'
              : undefined
          }
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
      {save.isSuccess && <p role="status">{spec.title} settings saved. Secrets are stored encrypted.</p>}
      {removed && (
        <p role="status" tabIndex={-1} ref={removedNote}>
          {spec.title} account removed. Its secrets are deleted.
        </p>
      )}
      <div className="actions">
        <Button type="submit" busy={save.isPending}>
          Save {spec.title}
        </Button>
        {own && (
          <Button
            variant="danger"
            onClick={() => {
              remove.reset();
              setRemoving(true);
            }}
          >
            Remove {spec.title}
          </Button>
        )}
      </div>
      {removing && (
        <ConfirmDialog
          title={`Remove the ${spec.title} account?`}
          confirmLabel={`Remove ${spec.title}`}
          dismissLabel="Keep it"
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() => remove.mutate()}
          onClose={() => setRemoving(false)}
        >
          <p>
            The {spec.title} settings and secrets saved here are deleted. Payments through {spec.title} cannot
            be taken, finished or refunded here until an administrator sets the account up again. Payments
            already taken stay as they are.
          </p>
        </ConfirmDialog>
      )}
    </form>
  );
}

/** The business's name and the time zone its days are counted in (dashboards, reports, dates). */
function BusinessForm({ tenant }: { tenant: Web.Tenant }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(tenant.name);
  const [zone, setZone] = useState(tenant.time_zone);
  const [zones] = useState(() => timeZoneChoices(tenant.time_zone));
  const fields = useFieldErrors();
  const save = useMutation({
    mutationFn: (body: { name: string; time_zone: string }) =>
      api<Web.Tenant>('/tenants/current', { method: 'PATCH', body }),
    onSuccess: async (saved) => {
      setTimeZone(saved.time_zone);
      queryClient.setQueryData(['tenant'], saved);
      // Every figure by day and every date shown depends on the zone: nothing cached stays.
      await queryClient.invalidateQueries();
    },
    onError: (error) => fields.fromApi(error, ['name', 'time_zone']),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (fields.check(name.trim() ? {} : { name: 'Enter the business name.' }))
      save.mutate({ name: name.trim(), time_zone: zone });
  };
  return (
    <form className="card form" onSubmit={onSubmit} noValidate aria-labelledby="business-title">
      <h2 id="business-title">Business</h2>
      <TextField
        label="Business name"
        autoComplete="organization"
        value={name}
        error={fields.errors.name}
        onChange={(event) => {
          setName(event.target.value);
          fields.clear('name');
        }}
      />
      <SelectField
        label="Time zone"
        hint="Days on the dashboard and in reports start at midnight here, and dates are shown in it."
        value={zone}
        error={fields.errors.time_zone}
        onChange={(event) => {
          setZone(event.target.value);
          fields.clear('time_zone');
        }}
      >
        {zones.map((choice) => (
          <option key={choice} value={choice}>
            {zoneLabel(choice)}
          </option>
        ))}
      </SelectField>
      {save.isError && Object.keys(fields.errors).length === 0 && <FormError error={save.error} />}
      {save.isSuccess && <p role="status">Business settings saved.</p>}
      <Button type="submit" busy={save.isPending}>
        Save business settings
      </Button>
    </form>
  );
}

export default function Settings() {
  const tenant = useQuery({
    queryKey: ['tenant'],
    queryFn: ({ signal }) => api<Web.Tenant>('/tenants/current', { signal }),
  });
  const gateways = useQuery({
    queryKey: ['gateways'],
    queryFn: ({ signal }) => api<{ data: GatewaySettingsView[] }>('/tenants/current/gateways', { signal }),
  });
  return (
    <>
      <PageHeader title="Settings">
        <p className="muted">
          Your business, and your own payment gateway accounts. Saved secrets are encrypted and never
          displayed again.
        </p>
      </PageHeader>
      {tenant.isPending ? (
        <Loading />
      ) : tenant.isError ? (
        <ErrorState error={tenant.error} retry={() => void tenant.refetch()} />
      ) : (
        <div className="grid-3">
          <BusinessForm tenant={tenant.data} />
        </div>
      )}
      <h2>Payment gateways</h2>
      {gateways.isPending ? (
        <Loading />
      ) : gateways.isError ? (
        <ErrorState error={gateways.error} retry={() => void gateways.refetch()} />
      ) : (
        <div className="grid-3">
          {GATEWAYS.map((spec) => {
            const view = gateways.data.data.find((entry) => entry.gateway === spec.gateway);
            return <GatewayForm key={spec.gateway} spec={spec} view={view} />;
          })}
        </div>
      )}
    </>
  );
}
