import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, registerOverApi } from './support/api';
import { launchBrowser, screenshot, signIn, waitForHeading } from './support/browser';
import { startMailCatcher, type MailCatcher } from './support/mail';
import { startPlatform, type RunningPlatform } from './support/server';

/**
 * Refund approvals in Chromium against the built platform: a manager declines a refund request,
 * which is then no longer awaiting approval, shows as declined on its order, and no longer holds
 * the payment's money, so the same amount can be requested again.
 */
const owner = { email: 'olga@example.test', password: 'refund desk owner passphrase' };
const manager = { email: 'max@example.test', password: 'refund desk manager passphrase' };

describe('refund approvals', () => {
  let mail: MailCatcher;
  let platform: RunningPlatform;
  let browser: Browser;
  let page: Page;
  let token = '';
  let productId = '';

  /** The API as the business's owner, for what each test needs in place before the manager acts. */
  const call = <T>(method: 'POST' | 'PUT', path: string, body: object, bearer = token) =>
    callApi<T>(platform.url, bearer, method, path, body);

  /** An order of one bag at $24.50, paid in cash, with a refund of all of it requested. */
  async function refundRequested(reason: string) {
    const order = await call<{ id: string; number: number }>('POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 1 }],
    });
    const payment = await call<{ id: string }>('POST', '/commerce/payments', {
      order_id: order.id,
      amount: 2450,
      currency: 'USD',
      gateway: 'manual',
    });
    const refund = await call<{ id: string }>('POST', '/commerce/refunds', {
      payment_id: payment.id,
      amount: 2450,
      reason,
    });
    return { order, refund };
  }

  const heading = (name: string | RegExp) => waitForHeading(page, name);
  const pendingRowOf = (order: { number: number }) =>
    page
      .getByRole('table', { name: 'Refunds' })
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: `#${order.number}`, exact: true }) });

  beforeAll(async () => {
    mail = await startMailCatcher();
    platform = await startPlatform({ SMTP_URL: mail.url });
    token = await registerOverApi(platform.url, { ...owner, name: 'Olga Owner', tenant_name: 'Sack & Bean' });
    productId = (
      await call<{ id: string }>('POST', '/commerce/products', {
        sku: 'BAG-1',
        name: 'House blend',
        price: 2450,
        currency: 'USD',
      })
    ).id;
    await call('PUT', `/commerce/inventory/${productId}`, { on_hand: 100 });
    await call('POST', '/tenants/current/invitations', { email: manager.email, roles: ['manager'] });
    const invitation = new URL(await mail.link(manager.email, '/accept-invitation')).searchParams.get(
      'token',
    );
    await registerOverApi(platform.url, { ...manager, name: 'Max Manager', invitation_token: invitation });

    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    await signIn(page, platform.url, manager);
    await heading('Dashboard');
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await mail?.stop();
  });

  it('declines a request: it leaves the approvals, shows declined on its order, and its amount can be requested again', async () => {
    const { order } = await refundRequested('Wrong size');
    await page.goto(`${platform.url}/refunds`);
    await heading('Refund approvals');
    const row = pendingRowOf(order);
    await row.getByRole('button', { name: 'Decline refund of $24.50' }).click();
    const dialog = page.getByRole('dialog', { name: 'Decline the refund request' });
    await dialog
      .getByText(
        `Decline the refund of $24.50 for order #${order.number}? Nothing is paid back to the customer, ` +
          'and the amount can be requested again later.',
      )
      .waitFor();
    await dialog.getByText('Reason given: Wrong size').waitFor();
    await dialog.getByLabel('Why it is declined (optional)').fill('Customer kept the bag');
    await screenshot(page, 'refunds-decline-dialog');
    await dialog.getByRole('button', { name: 'Decline refund' }).click();

    const outcome = page.getByRole('status').filter({
      hasText: 'Refund of $24.50 declined. Nothing was paid back; the amount can be requested again.',
    });
    await outcome.waitFor();
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('role') ?? null))
      .toBe('status');
    await row.waitFor({ state: 'detached' });
    expect(await dialog.count()).toBe(0);

    await page.goto(`${platform.url}/orders/${order.id}`);
    await heading(`Order #${order.number}`);
    const refunds = page.getByRole('table', { name: 'Refunds' });
    const declined = refunds.getByRole('row').filter({ hasText: 'Customer kept the bag' });
    await declined.getByText('Declined', { exact: true }).waitFor();
    expect(await refunds.getByText('Failed', { exact: true }).count()).toBe(0);
    await screenshot(page, 'refunds-declined-on-order');

    // The declined request holds nothing of the payment: all of it can be asked for again.
    await page.getByRole('button', { name: 'Request refund' }).click();
    const request = page.getByRole('dialog', { name: 'Request a refund' });
    await request.getByLabel('Amount (USD)').fill('24.50');
    await request.getByRole('button', { name: 'Request refund' }).click();
    await request.waitFor({ state: 'hidden' });
    await refunds
      .getByRole('row')
      .filter({ hasText: 'Pending' })
      .getByText('$24.50', { exact: true })
      .waitFor();
    expect(await refunds.getByRole('row').filter({ hasText: 'Declined' }).count()).toBe(1);
  });

  it('tells the manager when the request was approved meanwhile, and shows where it stands', async () => {
    const { order, refund } = await refundRequested('Beans were stale');
    await page.goto(`${platform.url}/refunds`);
    await heading('Refund approvals');
    await pendingRowOf(order).getByRole('button', { name: 'Decline refund of $24.50' }).click();
    const dialog = page.getByRole('dialog', { name: 'Decline the refund request' });
    await dialog.waitFor();
    // The owner approves it from another desk while the question is open.
    await call('POST', `/commerce/refunds/${refund.id}/process`, {});
    await dialog.getByRole('button', { name: 'Decline refund' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: 'This refund was processed already, so it can no longer be declined' })
      .waitFor();
    await dialog.getByRole('button', { name: 'Keep request' }).click();
    await pendingRowOf(order).waitFor({ state: 'detached' });
  });
});
