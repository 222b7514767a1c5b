import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeStripe } from '../../api/test/gateways/stripe-server';
import { callApi, registerOverApi } from './support/api';
import { launchBrowser, screenshot, signIn, waitForHeading } from './support/browser';
import { startPlatform, type RunningPlatform } from './support/server';

/**
 * Taking payments at the desk, in Chromium against the built platform: cash, checks and cards
 * through the gateways the business has set up, and refunds of each as the approver hands them
 * back. The environment gives Stripe's API base only (a local server speaking its wire format),
 * never an account: cards are offered once the business sets its own.
 */
const admin = { email: 'pat@example.test', password: 'payments desk passphrase 7' };

describe('payments at the desk', () => {
  let platform: RunningPlatform;
  let stripe: FakeStripe;
  let browser: Browser;
  let page: Page;
  let token = '';
  let productId = '';

  /** The API as the business's admin, for what each test needs in place before the desk acts. */
  const call = <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: object) =>
    callApi<T>(platform.url, token, method, path, body);

  /** An order of three bags at $24.50: $73.50 due. */
  const placeOrder = () =>
    call<{ id: string; number: number }>('POST', '/commerce/orders', {
      lines: [{ product_id: productId, quantity: 3 }],
    });

  const heading = (name: string | RegExp) => waitForHeading(page, name);
  const focusedLabel = () =>
    page.evaluate(
      () => (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent ?? null,
    );

  async function openPayment(order: { id: string; number: number }) {
    await page.goto(`${platform.url}/orders/${order.id}`);
    await heading(`Order #${order.number}`);
    await page.getByRole('button', { name: 'Take payment' }).click();
    const dialog = page.getByRole('dialog', { name: `Take payment for order #${order.number}` });
    await dialog.waitFor();
    return dialog;
  }

  beforeAll(async () => {
    stripe = new FakeStripe('sk_test_payments_desk');
    platform = await startPlatform({ STRIPE_API_BASE: await stripe.start() });
    token = await registerOverApi(platform.url, { ...admin, name: 'Pat Owner', tenant_name: 'Bean Counter' });
    productId = (
      await call<{ id: string }>('POST', '/commerce/products', {
        sku: 'BAG-1',
        name: 'House blend',
        price: 2450,
        currency: 'USD',
      })
    ).id;
    await call('PUT', `/commerce/inventory/${productId}`, { on_hand: 100 });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    await signIn(page, platform.url, admin);
    await heading('Dashboard');
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await stripe?.close();
  });

  it('takes no more than is due, in money, while cash handed over beyond it is change', async () => {
    const order = await placeOrder();
    const dialog = await openPayment(order);
    const sent: string[] = [];
    const listen = (request: Request) => {
      if (request.method() === 'POST' && request.url().endsWith('/commerce/payments'))
        sent.push(request.url());
    };
    page.on('request', listen);
    await dialog.getByLabel('Amount (USD)').fill('100');
    await dialog.getByRole('button', { name: 'Take cash' }).click();
    await dialog
      .getByText(
        'At most $73.50 is left to pay on this order. Enter what the customer hands over under ' +
          '“Cash handed over”: the change is worked out.',
      )
      .waitFor();
    await expect.poll(focusedLabel).toBe('Amount (USD)');
    expect(sent).toEqual([]);
    page.off('request', listen);
    await screenshot(page, 'payments-overpaid');

    // Should the API still refuse (another payment came first), its answer is told in money.
    await page.route('**/commerce/payments', (route) =>
      route.fulfill({
        status: 409,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'about:blank',
          title: 'The amount exceeds what is left to pay of the order',
          status: 409,
          code: 'amount_exceeds_balance',
          detail: 'At most 5000 of the order is left to pay',
          unpaid: 5000,
        }),
      }),
    );
    await dialog.getByLabel('Amount (USD)').fill('73.50');
    await dialog.getByRole('button', { name: 'Take cash' }).click();
    await dialog.getByText(/^At most \$50\.00 is left to pay on this order\./).waitFor();
    expect(await dialog.getByText('5000').count()).toBe(0);
    await page.unroute('**/commerce/payments');

    await dialog.getByLabel('Cash handed over (USD, optional)').fill('100');
    await dialog.getByText('Change due: $26.50').waitFor();
    await dialog.getByRole('button', { name: 'Take cash' }).click();
    await dialog.getByText('Payment received').waitFor();
    await dialog.locator('.change-due').getByText('$26.50').waitFor();
  });

  it('offers cards only through gateways set up for the business, Stripe once it is', async () => {
    const order = await placeOrder();
    let dialog = await openPayment(order);
    await dialog.getByLabel('Card', { exact: true }).check();
    await dialog
      .getByText(
        'Card payments are not set up for this business yet. Ask an administrator to connect Stripe, ' +
          'Square or PayPal in Settings.',
      )
      .waitFor();
    expect(await dialog.getByRole('button', { name: /Charge card|Authorize card/ }).count()).toBe(0);
    expect(await dialog.getByLabel('Gateway', { exact: true }).count()).toBe(0);
    await screenshot(page, 'payments-no-card-gateway');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await call('PUT', '/tenants/current/gateways/stripe', { secret_key: stripe.secretKey });
    dialog = await openPayment(order);
    await dialog.getByLabel('Card', { exact: true }).check();
    const gateway = dialog.getByLabel('Gateway', { exact: true });
    await gateway.waitFor();
    expect(await gateway.locator('option').allTextContents()).toEqual(['Stripe']);

    // The token a Stripe card is charged with is asked for, not left optional.
    const cardToken = dialog.getByLabel('Card token from Stripe', { exact: true });
    await cardToken.waitFor();
    await dialog.getByRole('button', { name: 'Charge card' }).click();
    await dialog.getByText("Enter the card token from Stripe's card reader or payment form.").waitFor();
    expect(await cardToken.getAttribute('aria-invalid')).toBe('true');
    await expect.poll(focusedLabel).toBe('Card token from Stripe');
    await screenshot(page, 'payments-card-token-missing');

    // The API's field errors are never swallowed: on the field on screen that shows each (the
    // card missing goes to the token), and in the form for a field not on screen.
    await page.route('**/commerce/payments', (route) =>
      route.fulfill({
        status: 400,
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Validation failed',
          status: 400,
          code: 'validation_failed',
          detail: 'payment_method_id is required for stripe (a card stored with its gateway token)',
          errors: [
            {
              path: 'payment_method_id',
              message: 'is required for stripe (a card stored with its gateway token)',
            },
            { path: 'capture', message: 'must be true for Square Terminal' },
          ],
        }),
      }),
    );
    await cardToken.fill('pm_card_visa');
    await dialog.getByRole('button', { name: 'Charge card' }).click();
    await dialog
      .getByRole('alert')
      .filter({ hasText: 'Authorize only must be true for Square Terminal.' })
      .waitFor();
    await dialog.getByText("Enter the card token from Stripe's card reader or payment form.").waitFor();
    expect(await cardToken.getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.getByText('payment_method_id').count()).toBe(0);
    await page.unroute('**/commerce/payments');

    await dialog.getByRole('button', { name: 'Charge card' }).click();
    await dialog.getByText('Payment received').waitFor();
    expect([...stripe.intents.values()].map((intent) => intent.amount)).toEqual([7350]);
  });

  it('records a check with its number, and the payments list names each order', async () => {
    const order = await placeOrder();
    const dialog = await openPayment(order);
    await dialog.getByLabel('Check', { exact: true }).check();
    await dialog.getByLabel('Check number (optional)').fill('1234');
    await dialog.getByRole('button', { name: 'Record check' }).click();
    await dialog.getByText('Payment received').waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Payments' }).click();
    await heading('Payments');
    const rows = page.getByRole('table', { name: 'Payments' }).getByRole('row');
    await rows.getByRole('link', { name: `#${order.number}`, exact: true }).waitFor();
    expect(await rows.getByRole('link', { name: 'View order' }).count()).toBe(0);
    await screenshot(page, 'payments-list');
    const row = rows.filter({ has: page.getByRole('link', { name: `#${order.number}`, exact: true }) });
    await row.getByRole('link').first().click();
    await heading('Manual payment');
    const paidBy = page.locator('dt', { hasText: 'Paid by' }).locator('xpath=following-sibling::dd[1]');
    expect(await paidBy.textContent()).toBe('Check 1234');
    await page.getByRole('link', { name: `Open order #${order.number}` }).waitFor();
  });

  it('tells the approver to hand back cash and checks, and names the gateway of a card', async () => {
    await call('PUT', '/tenants/current/gateways/stripe', { secret_key: stripe.secretKey });
    const cases = [
      {
        pay: { gateway: 'manual' } as object,
        source: 'cash payment',
        handling: 'Give the customer $12.50 in cash.',
      },
      {
        pay: {
          gateway: 'manual',
          payment_method_id: (
            await call<{ id: string }>('POST', '/commerce/payment-methods', {
              gateway: 'manual',
              type: 'check',
              label: 'Check 77',
            })
          ).id,
        },
        source: 'check payment',
        handling: 'This was paid by check: give the customer $12.50 back in cash or by check.',
      },
      {
        pay: {
          gateway: 'stripe',
          payment_method_id: (
            await call<{ id: string }>('POST', '/commerce/payment-methods', {
              gateway: 'stripe',
              type: 'card',
              gateway_token: 'pm_card_visa',
            })
          ).id,
        },
        source: 'Stripe payment',
        handling: 'Once sent, Stripe returns $12.50 to the customer: it cannot be called back.',
      },
    ];
    for (const { pay, source, handling } of cases) {
      const order = await placeOrder();
      const payment = await call<{ id: string }>('POST', '/commerce/payments', {
        order_id: order.id,
        amount: 7350,
        currency: 'USD',
        ...pay,
      });
      await call('POST', '/commerce/refunds', { payment_id: payment.id, amount: 1250 });

      await page.goto(`${platform.url}/refunds`);
      await heading('Refund approvals');
      const row = page
        .getByRole('table', { name: 'Refunds' })
        .getByRole('row')
        .filter({ has: page.getByRole('link', { name: `#${order.number}`, exact: true }) });
      await row.getByRole('button', { name: 'Approve and process refund of $12.50' }).click();
      const approve = page.getByRole('dialog', { name: 'Approve the refund' });
      await approve
        .getByText(`Refund $12.50 of the ${source} for order #${order.number} to the customer?`)
        .waitFor();
      await approve.getByText(handling, { exact: false }).waitFor();
      expect(await approve.getByText('the gateway returns the money').count()).toBe(0);
      if (source === 'cash payment') await screenshot(page, 'payments-refund-cash');
      await approve.getByRole('button', { name: 'Refund $12.50' }).click();
      await page.getByRole('status').filter({ hasText: 'Refund of $12.50 processed.' }).waitFor();
    }
  });

  it('shows "Page not found" for a payment address that names none', async () => {
    for (const id of ['xyz', '01a21f5b-93e2-73fa-9e46-171a756cc275']) {
      await page.goto(`${platform.url}/payments/${id}`);
      await heading('Page not found');
      expect(await page.getByText('must match pattern').count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Try again' }).count()).toBe(0);
    }
  });
});
