import type { Web } from '@tessera/contracts';
import { RECEIPTED_ORDER_STATUSES } from '@tessera/contracts/statuses';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../lib/api';
import { emailProblem, useFieldErrors } from '../lib/forms';
import { Button, Dialog, FormError, TextField } from './ui';

/**
 * Mail an order's receipt: to the customer the order names, or to an address typed here (a
 * customer who asks at the counter, the accountant). A paid order's customer got it already.
 */
export function EmailReceipt({ order }: { order: Web.Order }) {
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState(order.customer_email ?? '');
  const fields = useFieldErrors();
  const send = useMutation({
    mutationFn: (body: { email: string }) =>
      api<{ sent_to: string }>(`/commerce/orders/${order.id}/receipt`, { method: 'POST', body }),
    onSuccess: () => setOpen(false),
    onError: (error) => fields.fromApi(error, ['email']),
  });
  if (!RECEIPTED_ORDER_STATUSES.includes(order.status)) return null;
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const problem = emailProblem(email);
    if (fields.check(problem ? { email: problem } : {})) send.mutate({ email: email.trim() });
  };
  return (
    <>
      <Button
        variant="secondary"
        onClick={() => {
          send.reset();
          setOpen(true);
        }}
      >
        Email receipt
      </Button>
      {send.isSuccess && (
        <p role="status" className="muted">
          Receipt sent to {send.data.sent_to}.
        </p>
      )}
      <Dialog title="Email the receipt" open={open} onClose={() => setOpen(false)}>
        <form onSubmit={onSubmit} noValidate className="form">
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
          {send.isError && Object.keys(fields.errors).length === 0 && <FormError error={send.error} />}
          <div className="actions">
            <Button type="submit" busy={send.isPending}>
              Send receipt
            </Button>
            <Button variant="ghost" onClick={() => setOpen(false)}>
              Cancel
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
