import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, signIn, waitForHeading } from './support/browser';
import { startPlatform, type RunningPlatform } from './support/server';

/**
 * What the dashboard counts and in which currency, and the business settings around it: a
 * gateway account that can be removed again, credentials checked for their format, and a
 * password change that must change the password. One platform and one browser for the file; the
 * orders are placed through the API, as a till would place them.
 */
const owner = { name: 'Olga Owner', email: 'olga@example.test', password: 'a long enough passphrase 7' };

interface Answer<T> {
  status: number;
  body: T;
}

describe('the dashboard and the business settings', () => {
  let platform: RunningPlatform;
  let browser: Browser;
  let page: Page;
  let token = '';

  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer<T>> {
    const response = await fetch(platform.url + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /** A product with stock and an order of it; the order's id. */
  async function placeOrder(sku: string, price: number, currency: string): Promise<string> {
    const product = await call<{ id: string }>('POST', '/commerce/products', {
      sku,
      name: `Product ${sku}`,
      price,
      currency,
    });
    expect(product.status).toBe(201);
    expect((await call('PUT', `/commerce/inventory/${product.body.id}`, { on_hand: 10 })).status).toBe(200);
    const order = await call<{ id: string }>('POST', '/commerce/orders', {
      lines: [{ product_id: product.body.id, quantity: 1 }],
    });
    expect(order.status).toBe(201);
    return order.body.id;
  }

  const heading = (name: string | RegExp) => waitForHeading(page, name);
  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const focusedText = () => page.evaluate(() => document.activeElement?.textContent ?? null);

  beforeAll(async () => {
    platform = await startPlatform();
    const registered = await call<{ access_token: string }>('POST', '/auth/register', {
      ...owner,
      tenant_name: 'Two Currency Cafe',
    });
    expect(registered.status).toBe(201);
    token = registered.body.access_token;
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    page = await context.newPage();
    await signIn(page, platform.url, owner);
    await heading('Dashboard');
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it('leaves a cancelled order out of the orders placed and their average, as soon as it is cancelled', async () => {
    await placeOrder('LATTE', 450, 'EUR');
    const cancelled = await placeOrder('CAKE', 1_250, 'EUR');
    const orders = page.getByTestId('orders-today');
    const average = page.getByTestId('average-order');
    // Both placed orders count, paid or not: (4.50 + 12.50) / 2.
    await orders.getByText('2', { exact: true }).waitFor({ timeout: 20_000 });
    await average.getByText('€8.50').waitFor();
    await page.getByText('Orders placed', { exact: true }).waitFor();
    await page.getByText('leaves cancelled ones out', { exact: false }).waitFor();

    expect((await call('POST', `/commerce/orders/${cancelled}/cancel`, {})).status).toBe(200);
    // The page is not reloaded: the order's cancellation reaches it live.
    await orders.getByText('1', { exact: true }).waitFor({ timeout: 20_000 });
    await average.getByText('€4.50').waitFor({ timeout: 20_000 });
    await screenshot(page, 'dashboard-after-cancel');
  });

  it('tells of sales in another currency and shows them when that currency is picked', async () => {
    await placeOrder('DRIP', 300, 'USD');
    const currency = page.getByLabel('Currency');
    await currency.waitFor({ timeout: 20_000 });
    // The business's main currency is shown (most orders); the other is named beside the picker.
    expect(await currency.inputValue()).toBe('EUR');
    await page.getByText('There are sales in US Dollar (USD) today too.', { exact: false }).waitFor();
    await screenshot(page, 'dashboard-two-currencies');

    await currency.selectOption('USD');
    await page.getByTestId('average-order').getByText('$3.00').waitFor({ timeout: 15_000 });
    await page.getByTestId('orders-today').getByText('1', { exact: true }).waitFor();
    await page.getByText('There are sales in Euro (EUR) today too.', { exact: false }).waitFor();
    expect(new URL(page.url()).searchParams.get('currency')).toBe('USD');
    // A reload keeps the currency picked.
    await page.reload();
    await page.getByTestId('average-order').getByText('$3.00').waitFor({ timeout: 15_000 });
    expect(await page.getByLabel('Currency').inputValue()).toBe('USD');
  });

  it('refuses a Stripe key that is not one, saves a real one, and removes the account after asking', async () => {
    await nav().getByRole('link', { name: 'Settings' }).click();
    await heading('Settings');
    const stripe = page.getByRole('form', { name: 'Stripe' });
    await stripe.getByLabel('Secret key').fill('not-a-key');
    await stripe.getByLabel('Webhook signing secret').fill('whsec_cafe');
    await stripe.getByRole('button', { name: 'Save Stripe' }).click();
    await stripe.getByText(/It starts with sk_live_ or sk_test_/).waitFor();
    expect(await stripe.getByLabel('Secret key').getAttribute('aria-invalid')).toBe('true');
    expect(await stripe.getByRole('button', { name: 'Remove Stripe' }).count()).toBe(0);

    await stripe.getByLabel('Secret key').fill('sk_test_cafe');
    await stripe.getByRole('button', { name: 'Save Stripe' }).click();
    await stripe.getByText('Stripe settings saved.', { exact: false }).waitFor();
    await stripe.getByText('Configured', { exact: true }).waitFor();

    await stripe.getByRole('button', { name: 'Remove Stripe' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove the Stripe account?' });
    await dialog.waitFor();
    await screenshot(page, 'settings-remove-stripe');
    // Keeping it changes nothing.
    await dialog.getByRole('button', { name: 'Keep it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await stripe.getByText('Configured', { exact: true }).waitFor();

    await stripe.getByRole('button', { name: 'Remove Stripe' }).click();
    await dialog.getByRole('button', { name: 'Remove Stripe' }).click();
    await stripe.getByText('Stripe account removed.', { exact: false }).waitFor();
    await stripe.getByText('Not configured', { exact: true }).waitFor();
    expect(await stripe.getByRole('button', { name: 'Remove Stripe' }).count()).toBe(0);
    // The button is gone with the account: focus lands on what happened.
    await expect.poll(focusedText).toContain('Stripe account removed.');
    const accounts = await call<{ data: { gateway: string; configured: boolean }[] }>(
      'GET',
      '/tenants/current/gateways',
    );
    expect(accounts.body.data.find((entry) => entry.gateway === 'stripe')).toMatchObject({
      configured: false,
    });
  });

  it('refuses the current password as the new one', async () => {
    await nav().getByRole('link', { name: 'Account' }).click();
    await heading('Account');
    await page.getByLabel('Current password').fill(owner.password);
    await page.getByLabel('New password').fill(owner.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('This is your current password. Choose a different one.').waitFor();
    expect(await page.getByLabel('New password').getAttribute('aria-invalid')).toBe('true');
  });
});
