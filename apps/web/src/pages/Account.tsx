import type { Web } from '@tessera/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { LoadMore } from '../components/LoadMore';
import { Button, DataTable, ErrorState, FormError, Loading, PageHeader, TextField } from '../components/ui';
import { api } from '../lib/api';
import { useUser } from '../lib/auth';
import { formatDateTime, label } from '../lib/format';
import { passwordProblem, useFieldErrors, type FieldErrors } from '../lib/forms';
import { usePagedList } from '../lib/queries';
import { describeUserAgent } from '../lib/user-agent';
import { NewPasswordField } from './auth/PasswordField';

function ChangePassword() {
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const fields = useFieldErrors();
  const change = useMutation({
    mutationFn: () =>
      api('/auth/change-password', {
        method: 'POST',
        body: { current_password: current, new_password: next },
      }),
    onSuccess: async () => {
      setCurrent('');
      setNext('');
      await queryClient.invalidateQueries({ queryKey: ['sessions'] });
    },
    onError: (error) =>
      fields.fromApi(error, ['current_password', 'new_password'], {
        invalid_credentials: 'current_password',
      }),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const found: FieldErrors = {};
    if (!current) found.current_password = 'Enter your current password.';
    const problem = passwordProblem(next);
    if (problem) found.new_password = problem;
    // The API refuses it too: saving the same password would only sign the other devices out.
    else if (current && next === current)
      found.new_password = 'This is your current password. Choose a different one.';
    if (fields.check(found)) change.mutate();
  };
  return (
    <form className="card form" onSubmit={onSubmit} noValidate aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <TextField
        label="Current password"
        type="password"
        autoComplete="current-password"
        value={current}
        error={fields.errors.current_password}
        onChange={(event) => {
          setCurrent(event.target.value);
          fields.clear('current_password');
        }}
      />
      <NewPasswordField
        label="New password"
        value={next}
        error={fields.errors.new_password}
        onChange={(value) => {
          setNext(value);
          fields.clear('new_password');
        }}
      />
      {change.isError && Object.keys(fields.errors).length === 0 && <FormError error={change.error} />}
      {change.isSuccess && <p role="status">Password changed. Your other devices were signed out.</p>}
      <Button type="submit" busy={change.isPending}>
        Change password
      </Button>
    </form>
  );
}

function Sessions() {
  const me = useUser();
  const queryClient = useQueryClient();
  const sessions = usePagedList<Web.Session>(['sessions'], '/auth/sessions');
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/auth/sessions/${id}`, { method: 'DELETE' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['sessions'] }),
  });
  return (
    <section aria-labelledby="sessions-title">
      <h2 id="sessions-title">Where you are signed in</h2>
      {sessions.isPending ? (
        <Loading />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} retry={() => void sessions.refetch()} />
      ) : (
        <DataTable
          caption="Sessions"
          rows={sessions.items}
          rowKey={(entry) => entry.id}
          columns={[
            {
              header: 'Device',
              // The User-Agent as sent stays at hand, for a device the short name does not tell apart.
              cell: (entry) => (
                <span className="break" title={entry.user_agent ?? undefined}>
                  {describeUserAgent(entry.user_agent)}
                </span>
              ),
            },
            { header: 'Signed in', cell: (entry) => formatDateTime(entry.created_at) },
            { header: 'Last active', cell: (entry) => formatDateTime(entry.last_used_at) },
            {
              header: 'Action',
              cell: (entry) =>
                entry.id === me.session_id || entry.current ? (
                  <span className="muted">This device</span>
                ) : (
                  <Button
                    variant="danger"
                    aria-label={`Sign out the session started ${formatDateTime(entry.created_at)}`}
                    busy={revoke.isPending && revoke.variables === entry.id}
                    onClick={() => revoke.mutate(entry.id)}
                  >
                    Sign out
                  </Button>
                ),
            },
          ]}
        />
      )}
      <LoadMore {...sessions} />
      <FormError error={revoke.error} />
    </section>
  );
}

export default function Account() {
  const me = useUser();
  return (
    <>
      <PageHeader title="Account" />
      <dl className="stats">
        <div>
          <dt>Name</dt>
          <dd>{me.name}</dd>
        </div>
        <div>
          <dt>E-mail</dt>
          <dd className="break">
            {me.email} {me.email_verified ? '(verified)' : '(not verified)'}
          </dd>
        </div>
        <div>
          <dt>Roles</dt>
          <dd>{me.roles.map(label).join(', ')}</dd>
        </div>
      </dl>
      <div className="grid-2 wide-last">
        <ChangePassword />
        <Sessions />
      </div>
    </>
  );
}
