import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, registerOverApi } from './support/api';
import { launchBrowser, signIn, waitForHeading } from './support/browser';
import { startMailCatcher, type MailCatcher } from './support/mail';
import { startPlatform, type RunningPlatform } from './support/server';

/**
 * Detail pages, focus after actions, what an order offers, the words of refusals and the phone menu,
 * in Chromium against the built platform. Data is made through the API; what is judged, in the app.
 */
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 780 };

const owner = { name: 'Olga Owner', email: 'olga@pages.test', password: 'owner passphrase of some length' };

describe('the pages of the merchant app', () => {
  let platform: RunningPlatform;
  let mail: MailCatcher;
  let browser: Browser;
  let desk: BrowserContext;
  let page: Page;
  let token = '';

  /** Calls the API as the owner; every POST carries an Idempotency-Key. */
  const call = <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
    callApi<T>(platform.url, token, method, path, body);

  async function product(sku: string, price = 2000): Promise<string> {
    const created = await call<{ id: string }>('POST', '/commerce/products', {
      sku,
      name: `Product ${sku}`,
      price,
      currency: 'USD',
    });
    await call('POST', `/commerce/inventory/${created.id}/adjustments`, { delta: 100, reason: 'Delivery' });
    return created.id;
  }

  async function order(productId: string): Promise<{ id: string; number: number }> {
    return call('POST', '/commerce/orders', { lines: [{ product_id: productId, quantity: 1 }] });
  }

  async function cash(orderId: string, amount: number, tendered?: number): Promise<{ id: string }> {
    return call('POST', '/commerce/payments', {
      order_id: orderId,
      amount,
      currency: 'USD',
      gateway: 'manual',
      ...(tendered === undefined ? {} : { cash_tendered: tendered }),
    });
  }

  const heading = waitForHeading;
  /** What has focus: its tag and text, to say where keyboard users are. */
  const focused = (target: Page) =>
    target.evaluate(() => {
      const active = document.activeElement;
      return { tag: active?.tagName.toLowerCase() ?? '', text: active?.textContent?.trim() ?? '' };
    });
  const focusedText = async (target: Page) => (await focused(target)).text;

  async function signInAsOwner(target: Page) {
    await signIn(target, platform.url, owner);
    await heading(target, 'Dashboard');
  }

  beforeAll(async () => {
    mail = await startMailCatcher();
    platform = await startPlatform({ SMTP_URL: mail.url });
    token = await registerOverApi(platform.url, { ...owner, tenant_name: 'Pages Shop' });
    browser = await launchBrowser();
    desk = await browser.newContext({ viewport: DESKTOP });
    page = await desk.newPage();
    await signInAsOwner(page);
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await mail?.stop();
  });

  it('keeps focus on Sign in after a refused sign-in', async () => {
    const visitor = await browser.newContext({ viewport: DESKTOP });
    const tab = await visitor.newPage();
    await tab.goto(platform.url + '/login');
    await heading(tab, 'Sign in');
    await tab.getByLabel('E-mail').fill(owner.email);
    await tab.getByLabel('Password').fill('not the password at all');
    await tab.getByRole('button', { name: 'Sign in' }).focus();
    await tab.keyboard.press('Enter');
    await tab
      .getByRole('alert')
      .filter({ hasText: 'That e-mail and password do not match an account.' })
      .waitFor();
    expect(await focused(tab)).toEqual({ tag: 'button', text: 'Sign in' });
    await visitor.close();
  });

  it('shows "Page not found" for an id no record can have, without asking the API', async () => {
    const refused: string[] = [];
    const onResponse = (response: { status(): number; url(): string }) => {
      if (response.status() === 400) refused.push(response.url());
    };
    page.on('response', onResponse);
    for (const path of ['/orders/not-a-uuid', '/products/xyz', '/inventory/xyz', `/orders/${randomUUID()}`]) {
      await page.goto(platform.url + path);
      await heading(page, 'Page not found');
      expect(await page.getByRole('button', { name: 'Try again' }).count(), path).toBe(0);
    }
    page.off('response', onResponse);
    expect(refused).toEqual([]);
  });

  it('keeps focus on Archive, and drops “Product saved.” once another action starts', async () => {
    const id = await product('ARCH-1');
    await page.goto(`${platform.url}/products/${id}`);
    await heading(page, 'Product ARCH-1');
    await page.getByLabel('Description (optional)').fill('Kept for the archive');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const saved = page.getByRole('status').filter({ hasText: 'Product saved.' });
    await saved.waitFor();

    await page.getByRole('button', { name: 'Archive' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Product archived.' }).waitFor();
    await page.getByRole('button', { name: 'Restore' }).waitFor();
    expect(await focused(page)).toEqual({ tag: 'button', text: 'Restore' });
    expect(await saved.count()).toBe(0);
  });

  it('keeps focus on Record adjustment, and takes it to the rows Show more loaded last', async () => {
    const id = await product('LEDGER-1');
    // 100 units from product() and 50 more adjustments: the ledger's second page holds the first.
    for (let n = 1; n <= 50; n++) {
      await call('POST', `/commerce/inventory/${id}/adjustments`, { delta: 1, reason: `Count ${n}` });
    }
    await page.goto(`${platform.url}/inventory/${id}`);
    await heading(page, 'Stock: Product LEDGER-1');
    await page.getByLabel('Quantity').fill('2');
    await page.getByRole('button', { name: 'Record adjustment' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Stock updated.' }).waitFor();
    expect(await focused(page)).toEqual({ tag: 'button', text: 'Record adjustment' });

    // A second adjustment that fails the form's own check: the last one's "Stock updated." goes.
    await page.getByLabel('Quantity').fill('0');
    await page.getByRole('button', { name: 'Record adjustment' }).click();
    await page.getByText('Enter a whole number of units, at least 1.').waitFor();
    expect(await page.getByText('Stock updated.').count()).toBe(0);

    const ledger = page.getByRole('table', { name: 'Stock adjustments' });
    await ledger.getByRole('cell', { name: 'Count 50', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Show more' }).focus();
    await page.keyboard.press('Enter');
    await ledger.getByRole('cell', { name: 'Delivery', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Show more' }).waitFor({ state: 'detached' });
    // The button went with the last page: focus is on the first row it brought.
    await expect.poll(() => focused(page)).toMatchObject({ tag: 'tr' });
    const rows = await ledger.locator('tbody tr').allTextContents();
    expect(await focusedText(page)).toBe(rows[50]!.trim());
  });

  it('takes cash by keyboard: the result takes focus, Done closes, and Fulfil leaves focus on what it did', async () => {
    const productId = await product('CASH-1', 1900);
    const placed = await order(productId);
    await page.goto(`${platform.url}/orders/${placed.id}`);
    await heading(page, `Order #${placed.number}`);
    await page.getByRole('button', { name: 'Take payment' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: `Take payment for order #${placed.number}` });
    await dialog.getByLabel('Cash handed over (USD, optional)').fill('20');
    await dialog.getByLabel('Cash handed over (USD, optional)').press('Enter');
    await dialog.getByText('Payment received').waitFor();
    await expect.poll(() => focused(page)).toEqual({ tag: 'button', text: 'Done' });
    await page.locator('.badges').getByText('Paid', { exact: true }).waitFor();
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    // "Take payment" went with the payment: focus is on the page's title, not lost.
    await expect.poll(() => focused(page)).toEqual({ tag: 'h1', text: `Order #${placed.number}` });

    await page.getByRole('button', { name: 'Fulfil' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('.badges').getByText('Fulfilled', { exact: true }).waitFor();
    await expect.poll(() => focusedText(page)).toBe('Order fulfilled: its items were taken out of stock.');
  });

  it('offers Cancel order only while no money is kept for the order, and names each refund’s payment', async () => {
    const productId = await product('PART-1', 3000);
    const unpaid = await order(productId);
    await page.goto(`${platform.url}/orders/${unpaid.id}`);
    await heading(page, `Order #${unpaid.number}`);
    await page.getByRole('button', { name: 'Cancel order' }).waitFor();

    const partly = await order(productId);
    const payment = await cash(partly.id, 1000);
    await call('POST', '/commerce/refunds', { payment_id: payment.id, amount: 250, reason: 'Scratched' });
    await page.goto(`${platform.url}/orders/${partly.id}`);
    await heading(page, `Order #${partly.number}`);
    const refunds = page.getByRole('table', { name: 'Refunds' });
    await refunds.getByRole('cell', { name: 'Scratched' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);
    await page.getByText('To cancel this order, first refund the money taken for it').waitFor();
    const paidWith = refunds.getByRole('link', { name: 'Manual payment of $10.00' });
    expect(await paidWith.getAttribute('href')).toBe(`/payments/${payment.id}`);
  });

  it('says in plain words that an address is taken or already a member', async () => {
    await page.goto(platform.url + '/users');
    await heading(page, 'Users');
    const invite = page.getByRole('form', { name: 'Invite someone' });
    await invite.getByLabel('E-mail').fill('sam@pages.test');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    const sent = page.getByText('Invitation sent to sam@pages.test.');
    await sent.waitFor();
    // A new attempt: the last one's success does not stay beside this one's error.
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await invite.getByText('Enter an e-mail address.').waitFor();
    expect(await sent.count()).toBe(0);

    await invite.getByLabel('E-mail').fill(owner.email);
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await invite.getByText('This e-mail address belongs to someone already in this business.').waitFor();
    expect(await page.getByText(/tenant/i).count()).toBe(0);

    const visitor = await browser.newContext({ viewport: DESKTOP });
    const tab = await visitor.newPage();
    await tab.goto(platform.url + '/register');
    await heading(tab, 'Create your business');
    await tab.getByLabel('Business name').fill('Another Shop');
    await tab.getByLabel('Your name').fill('Someone Else');
    await tab.getByLabel('E-mail').fill(owner.email);
    await tab.getByLabel('Password').fill('another long passphrase');
    await tab.getByRole('button', { name: 'Create business' }).click();
    await tab
      .getByText(
        'An account with this e-mail address already exists. Sign in with it, or use another address.',
      )
      .waitFor();
    expect(await tab.getByText('The email is already registered').count()).toBe(0);

    // An invitation link that does not work, or was cut short in the mail, says so at once, without a form.
    for (const token of ['not-an-invitation', 'abc']) {
      await tab.goto(`${platform.url}/accept-invitation?token=${token}`);
      await tab
        .getByRole('alert')
        .filter({ hasText: /^This invitation link has been used, withdrawn or has expired\./ })
        .waitFor();
      expect(await tab.getByLabel('Password').count()).toBe(0);
    }
    await visitor.close();
  });

  it('says an old verification link of a verified address is nothing to worry about', async () => {
    const link = await mail.link(owner.email, '/verify-email');
    await page.goto(link);
    await page.getByText('Your e-mail address is verified. Thank you!').waitFor({ timeout: 15_000 });
    await page.goto(link);
    await page
      .getByRole('status')
      .filter({
        hasText: `Your e-mail address ${owner.email} is already verified: there is nothing more to do.`,
      })
      .waitFor({ timeout: 15_000 });
    expect(await page.getByRole('alert').count()).toBe(0);

    // Signed out, the same link says what it is and what to do, in sentences.
    const visitor = await browser.newContext({ viewport: DESKTOP });
    const tab = await visitor.newPage();
    await tab.goto(link);
    const alert = tab.getByRole('alert');
    await alert.waitFor({ timeout: 15_000 });
    expect(await alert.textContent()).toBe(
      'This link no longer works: it was used already, or it has expired. If your address is not verified yet, sign in and ask for a new link.',
    );
    // A link cut short in the mail: the API refuses the token's form, the page says to open it again.
    await tab.goto(platform.url + '/verify-email?token=abc');
    await tab
      .getByRole('alert')
      .filter({ hasText: /^This link is incomplete\. Open the link from the mail again\.$/ })
      .waitFor({ timeout: 15_000 });
    await visitor.close();
  });

  it('keeps Tab inside the open phone menu, and Escape gives focus back to its button', async () => {
    const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const tab = await phone.newPage();
    await signInAsOwner(tab);
    const menuButton = tab.getByRole('button', { name: 'Open menu' });
    await menuButton.click();
    const nav = tab.getByRole('navigation', { name: 'Main' });
    const signOut = nav.getByRole('button', { name: 'Sign out' });
    await signOut.waitFor();
    await signOut.focus();
    await tab.keyboard.press('Tab');
    expect(await focused(tab)).toEqual({ tag: 'button', text: '×' });
    await tab.keyboard.press('Tab');
    expect(await focused(tab)).toEqual({ tag: 'a', text: 'Dashboard' });
    await tab.keyboard.press('Shift+Tab');
    await tab.keyboard.press('Shift+Tab');
    expect(await focused(tab)).toEqual({ tag: 'button', text: 'Sign out' });
    // Round the whole menu, never behind it.
    const links = await nav.getByRole('link').count();
    for (let step = 0; step < links + 2; step++) {
      await tab.keyboard.press('Tab');
      expect(
        await tab.evaluate(
          () =>
            document.activeElement?.closest('#sidebar') !== null ||
            document.activeElement?.getAttribute('aria-controls') === 'sidebar',
        ),
      ).toBe(true);
    }
    await tab.keyboard.press('Escape');
    await expect.poll(() => nav.isVisible()).toBe(false);
    expect(await focused(tab)).toEqual({ tag: 'button', text: '☰' });
    await phone.close();
  });
});
