import type { Role, Web } from '@tessera/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import {
  Button,
  ConfirmDialog,
  DataTable,
  Dialog,
  EmptyState,
  ErrorState,
  FormError,
  Loading,
  PageHeader,
  TextField,
} from '../components/ui';
import { LoadMore } from '../components/LoadMore';
import { api } from '../lib/api';
import { useUser } from '../lib/auth';
import { formatDateTime, label } from '../lib/format';
import { emailProblem, useFieldErrors, type FieldErrors } from '../lib/forms';
import { usePagedList } from '../lib/queries';

/** What each role may do, in the order offered (the contract's role table). */
const ROLE_HINTS: Record<Role, string> = {
  admin: 'everything, including users and settings',
  manager: 'catalog, stock, orders, payments, refunds, reports',
  staff: 'sell: orders and payments; sees catalog and stock',
  user: 'sees the catalog',
};

function RolePicker({
  value,
  onChange,
  error,
}: {
  value: string[];
  onChange: (roles: string[]) => void;
  error?: string;
}) {
  return (
    <fieldset className="roles" aria-describedby={error ? 'roles-error' : undefined}>
      <legend>Roles</legend>
      {(Object.keys(ROLE_HINTS) as Role[]).map((role) => (
        <label key={role} className="checkbox">
          <input
            type="checkbox"
            checked={value.includes(role)}
            onChange={(event) =>
              onChange(event.target.checked ? [...value, role] : value.filter((r) => r !== role))
            }
          />
          <span>
            {label(role)} <span className="muted">— {ROLE_HINTS[role]}</span>
          </span>
        </label>
      ))}
      {error && (
        <p className="field-error" id="roles-error">
          {error}
        </p>
      )}
    </fieldset>
  );
}

function InviteForm() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [roles, setRoles] = useState<string[]>(['staff']);
  const fields = useFieldErrors();
  const invite = useMutation({
    mutationFn: (body: { email: string; roles: string[] }) =>
      api('/tenants/current/invitations', { method: 'POST', body }),
    onSuccess: async () => {
      setEmail('');
      await queryClient.invalidateQueries({ queryKey: ['users', 'invitations'] });
    },
    onError: (error) => fields.fromApi(error, ['email', 'roles'], { already_member: 'email' }),
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    // "Invitation sent" was about the last one: it does not stay beside this one's errors.
    invite.reset();
    const found: FieldErrors = {};
    const problem = emailProblem(email);
    if (problem) found.email = problem;
    if (roles.length === 0) found.roles = 'Choose at least one role.';
    if (fields.check(found)) invite.mutate({ email: email.trim(), roles });
  };
  return (
    <form className="card form" onSubmit={onSubmit} noValidate aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <TextField
        label="E-mail"
        type="email"
        value={email}
        error={fields.errors.email}
        onChange={(event) => {
          setEmail(event.target.value);
          fields.clear('email');
        }}
      />
      <RolePicker value={roles} onChange={setRoles} error={fields.errors.roles} />
      {invite.isError && Object.keys(fields.errors).length === 0 && <FormError error={invite.error} />}
      {invite.isSuccess && <p role="status">Invitation sent to {invite.variables.email}.</p>}
      <Button type="submit" busy={invite.isPending}>
        Send invitation
      </Button>
    </form>
  );
}

/** A note of what came of a confirmed action, focused when it appears: the row acted on is gone. */
function useOutcomeFocus<T>(outcome: T | null) {
  const note = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (outcome) note.current?.focus();
  }, [outcome]);
  return note;
}

function PendingInvitations() {
  const queryClient = useQueryClient();
  const invitations = usePagedList<Web.Invitation>(['users', 'invitations'], '/tenants/current/invitations');
  const [revoking, setRevoking] = useState<Web.Invitation | null>(null);
  const [revoked, setRevoked] = useState<Web.Invitation | null>(null);
  const revokedNote = useOutcomeFocus(revoked);
  const revoke = useMutation({
    mutationFn: (invitation: Web.Invitation) =>
      api(`/tenants/current/invitations/${invitation.id}`, { method: 'DELETE' }),
    // A failure (404) means it was accepted or expired meanwhile: the list is stale either way.
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['users', 'invitations'] }),
  });
  return (
    <section aria-labelledby="invitations-title">
      <h2 id="invitations-title">Pending invitations</h2>
      {invitations.isPending ? (
        <Loading />
      ) : invitations.isError ? (
        <ErrorState error={invitations.error} retry={() => void invitations.refetch()} />
      ) : invitations.items.length === 0 ? (
        <EmptyState title="No pending invitations." />
      ) : (
        <DataTable
          caption="Pending invitations"
          rows={invitations.items}
          rowKey={(invitation) => invitation.id}
          columns={[
            { header: 'E-mail', cell: (invitation) => <span className="break">{invitation.email}</span> },
            { header: 'Roles', cell: (invitation) => invitation.roles.map(label).join(', ') },
            { header: 'Expires', cell: (invitation) => formatDateTime(invitation.expires_at) },
            {
              header: 'Action',
              cell: (invitation) => (
                <Button
                  variant="danger"
                  aria-label={`Revoke the invitation to ${invitation.email}`}
                  onClick={() => {
                    revoke.reset();
                    setRevoked(null);
                    setRevoking(invitation);
                  }}
                >
                  Revoke
                </Button>
              ),
            },
          ]}
        />
      )}
      <LoadMore {...invitations} />
      {revoked && (
        <p ref={revokedNote} tabIndex={-1} role="status">
          Invitation to {revoked.email} revoked.
        </p>
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke the invitation?"
          confirmLabel="Revoke invitation"
          busy={revoke.isPending}
          error={revoke.error}
          onConfirm={() =>
            revoke.mutate(revoking, {
              onSuccess: () => {
                setRevoking(null);
                setRevoked(revoking);
              },
            })
          }
          onClose={() => setRevoking(null)}
        >
          <p>
            The link sent to <span className="break">{revoking.email}</span> stops working. You can invite the
            address again later.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function EditRoles({ user, onClose }: { user: Web.TenantUser; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [roles, setRoles] = useState(user.roles);
  const save = useMutation({
    mutationFn: () => api(`/tenants/current/users/${user.id}`, { method: 'PATCH', body: { roles } }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['users'] });
      onClose();
    },
  });
  return (
    <Dialog title={`Roles of ${user.name}`} open onClose={onClose}>
      <form
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          if (roles.length > 0) save.mutate();
        }}
      >
        <RolePicker
          value={roles}
          onChange={setRoles}
          error={roles.length === 0 ? 'Choose at least one role.' : undefined}
        />
        <FormError error={save.error} />
        <div className="actions">
          <Button type="submit" busy={save.isPending} disabled={roles.length === 0}>
            Save roles
          </Button>
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export default function Users() {
  const me = useUser();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<Web.TenantUser | null>(null);
  const [removing, setRemoving] = useState<Web.TenantUser | null>(null);
  const [removed, setRemoved] = useState<Web.TenantUser | null>(null);
  const removedNote = useOutcomeFocus(removed);
  const users = usePagedList<Web.TenantUser>(['users', 'team'], '/tenants/current/users');
  const remove = useMutation({
    mutationFn: (user: Web.TenantUser) => api(`/tenants/current/users/${user.id}`, { method: 'DELETE' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['users'] }),
  });
  return (
    <>
      <PageHeader title="Users" />
      <div className="grid-2 wide-first">
        <section aria-labelledby="members-title">
          <h2 id="members-title">Team</h2>
          {users.isPending ? (
            <Loading />
          ) : users.isError ? (
            <ErrorState error={users.error} retry={() => void users.refetch()} />
          ) : users.items.length === 0 ? (
            <EmptyState title="No users." />
          ) : (
            <DataTable
              caption="Users"
              rows={users.items}
              rowKey={(user) => user.id}
              columns={[
                { header: 'Name', cell: (user) => user.name },
                { header: 'E-mail', cell: (user) => <span className="break">{user.email}</span> },
                { header: 'Roles', cell: (user) => user.roles.map(label).join(', ') },
                {
                  header: 'Actions',
                  cell: (user) =>
                    user.id === me.id ? (
                      <span className="muted">You</span>
                    ) : (
                      <span className="inline-actions">
                        <Button
                          variant="secondary"
                          onClick={() => setEditing(user)}
                          aria-label={`Change roles of ${user.name}`}
                        >
                          Roles
                        </Button>
                        <Button
                          variant="danger"
                          aria-label={`Remove ${user.name}`}
                          onClick={() => {
                            remove.reset();
                            setRemoved(null);
                            setRemoving(user);
                          }}
                        >
                          Remove
                        </Button>
                      </span>
                    ),
                },
              ]}
            />
          )}
          <LoadMore {...users} />
          {removed && (
            <p ref={removedNote} tabIndex={-1} role="status">
              {removed.name} was removed from the business.
            </p>
          )}
        </section>
        <InviteForm />
      </div>
      <PendingInvitations />
      {editing && <EditRoles user={editing} onClose={() => setEditing(null)} />}
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove from the business"
          busy={remove.isPending}
          error={remove.error}
          onConfirm={() =>
            remove.mutate(removing, {
              onSuccess: () => {
                setRemoving(null);
                setRemoved(removing);
              },
            })
          }
          onClose={() => setRemoving(null)}
        >
          <p>
            {removing.name} (<span className="break">{removing.email}</span>) is signed out of this business
            at once and loses access to it. Their account and the history of what they did here are kept; you
            can invite them again.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
