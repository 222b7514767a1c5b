import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { horizontalOverflow, launchBrowser, screenshot, signIn, waitForHeading } from './support/browser';
import { FakeStripe } from '../../api/test/gateways/stripe-server';
import { startMailCatcher, type MailCatcher } from './support/mail';
import { startPlatform, type RunningPlatform } from './support/server';

/**
 * The merchant app in Chromium against the built platform on PostgreSQL, Redis and a real SMTP
 * server. Access tokens live 30 s (the shortest the API allows), so every flow below also runs
 * through token refreshes.
 */
const ACCESS_TOKEN_TTL_S = 30;
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 740 };

const admin = { name: 'Ada Merchant', email: 'ada@example.test', password: 'correct horse battery staple' };
const staff = { name: 'Sam Staff', email: 'sam@example.test', password: 'staff member passphrase 42' };

describe('the merchant web app', () => {
  let platform: RunningPlatform;
  let mail: MailCatcher;
  let stripe: FakeStripe;
  let browser: Browser;
  let desk: BrowserContext;
  let page: Page;
  const ids = { order: '', product: '', payment: '' };

  beforeAll(async () => {
    mail = await startMailCatcher();
    // Stripe's API is a local server speaking its wire format; each business enters its own keys.
    stripe = new FakeStripe('sk_test_corner_shop');
    platform = await startPlatform({
      SMTP_URL: mail.url,
      ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL_S),
      STRIPE_API_BASE: await stripe.start(),
    });
    browser = await launchBrowser();
    // The owner's browser is in India: the business they register counts its days there. Chromium
    // calls the zone Asia/Calcutta, as CLDR does; the app says Asia/Kolkata.
    desk = await browser.newContext({ viewport: DESKTOP, timezoneId: 'Asia/Kolkata' });
    page = await desk.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await mail?.stop();
    await stripe?.close();
  });

  const heading = waitForHeading;
  /** The label of the field that has focus: where a form's first error takes it. */
  const focusedLabel = (target: Page) =>
    target.evaluate(
      () => (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent ?? null,
    );
  /** The text of what has focus: where a confirmed action's outcome, or a closed dialog, leaves it. */
  const focusedText = (target: Page) => target.evaluate(() => document.activeElement?.textContent ?? null);

  const signInAs = (target: Page, email: string, password: string) =>
    signIn(target, platform.url, { email, password });

  it('validates registration inline, then registers a business', async () => {
    await page.goto(platform.url + '/register');
    await heading(page, 'Create your business');
    await page.getByLabel('Business name').fill('Corner Shop');
    await page.getByLabel('Your name').fill(admin.name);
    await page.getByLabel('E-mail').fill('not-an-email');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create business' }).click();
    // Each message sits next to its field and is tied to it for assistive technology.
    const password = page.getByLabel('Password');
    expect(await password.getAttribute('aria-invalid')).toBe('true');
    await page.getByText('Use at least 12 characters (5 so far).').waitFor();
    await page.getByText('Enter an e-mail address like name@example.com.').waitFor();
    // Focus goes to the first field in error, which reads out its message.
    await expect.poll(() => focusedLabel(page)).toBe('E-mail');
    await screenshot(page, 'desktop-register-validation');

    await page.getByLabel('E-mail').fill(admin.email);
    await password.fill(admin.password);
    await page.getByRole('button', { name: 'Create business' }).click();
    await heading(page, 'Dashboard');
    await page.getByRole('region', { name: 'E-mail verification' }).waitFor();
    // The browser the business was registered in is a device its owner signs in on.
    const deviceTokens = await page.evaluate(
      () => JSON.parse(localStorage.getItem('tessera.device-tokens') ?? '{}') as Record<string, string>,
    );
    expect(deviceTokens[admin.email]).toMatch(/^v1\./);
    // On a desk, signing out is in the top bar only (on a phone it moves into the menu).
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    expect(await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
  });

  it('verifies the e-mail address from the mailed link', async () => {
    const link = await mail.link(admin.email, '/verify-email');
    expect(new URL(link).origin).toBe(platform.url);
    const tab = await desk.newPage();
    await tab.goto(link);
    await tab.getByText('Your e-mail address is verified.').waitFor({ timeout: 15_000 });
    await tab.close();
    // The first tab learns it when it gets focus back: the banner goes.
    await page.bringToFront();
    await page.evaluate(() => window.dispatchEvent(new Event('focus')));
    await page
      .getByRole('region', { name: 'E-mail verification' })
      .waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('creates products, showing the API’s field errors where they belong', async () => {
    for (const product of [
      { name: 'Espresso beans 1 kg', sku: 'BEAN-1KG', price: '24.50' },
      { name: 'Ceramic mug', sku: 'MUG-01', price: '9.90' },
    ]) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Products' }).click();
      await heading(page, 'Products');
      await page.getByRole('link', { name: 'New product' }).click();
      await heading(page, 'New product');
      await page.getByLabel('Name').fill(product.name);
      await page.getByLabel('SKU').fill(product.sku);
      await page.getByLabel('Price').fill(product.price);
      await page.getByLabel('Currency').selectOption('USD');
      await page.getByRole('button', { name: 'Create product' }).click();
      await heading(page, 'Products');
      await page
        .getByRole('status')
        .filter({ hasText: `Product “${product.name}” created.` })
        .waitFor();
      await page.getByRole('link', { name: product.name }).waitFor();
    }
    // A taken SKU: the API's 409 sku_taken lands on the SKU field. (The form must be there before
    // filling: the list's "Search by name or SKU" field also answers to the labels Name and SKU.)
    await page.getByRole('link', { name: 'New product' }).click();
    await heading(page, 'New product');
    // The fields stop at the API's limits and say so; a price past the largest names it.
    await page.getByLabel('Name').fill('x'.repeat(600));
    expect((await page.getByLabel('Name').inputValue()).length).toBe(200);
    await page.getByText('That is the most a name can have: 200 characters.').waitFor();
    await page.getByLabel('SKU').fill('BIG-1');
    await page.getByLabel('Price').fill('100000000000000');
    await page.getByRole('button', { name: 'Create product' }).click();
    await page.getByText(/^Enter a price of at most /).waitFor();
    await page.getByLabel('Name').fill('Duplicate');
    await page.getByLabel('SKU').fill('MUG-01');
    await page.getByLabel('Price').fill('1');
    await page.getByRole('button', { name: 'Create product' }).click();
    await page.waitForFunction(() => document.querySelector('input[aria-invalid="true"]') !== null);
    expect(await page.getByLabel('SKU').getAttribute('aria-invalid')).toBe('true');
    await expect.poll(() => focusedLabel(page)).toBe('SKU');
    await screenshot(page, 'desktop-product-new');

    await page.goBack();
    await heading(page, 'Products');
    await page.getByLabel('Search by name or SKU').fill('mug');
    await page.waitForURL(/q=mug/);
    await page.getByRole('link', { name: 'Espresso beans 1 kg' }).waitFor({ state: 'detached' });
    await screenshot(page, 'desktop-products');
    await page.getByRole('link', { name: 'Ceramic mug' }).click();
    await heading(page, 'Ceramic mug');
    ids.product = page.url().split('/').pop()!;
    await page.getByLabel('Description (optional)').fill('Stoneware, 350 ml');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Product saved.' }).waitFor();
  });

  it('stocks the products through adjustments with a reason, and shows the ledger', async () => {
    for (const [sku, quantity] of [
      ['BEAN-1KG', '12'],
      ['MUG-01', '3'],
    ] as const) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inventory' }).click();
      await heading(page, 'Inventory');
      await page
        .getByRole('link', { name: sku === 'MUG-01' ? 'Ceramic mug' : 'Espresso beans 1 kg' })
        .click();
      await heading(page, /^Stock:/);
      await page.getByLabel('Quantity').fill(quantity);
      await page.getByLabel('Reason').selectOption('Delivery received');
      await page.getByRole('button', { name: 'Record adjustment' }).click();
      await page.getByRole('status').filter({ hasText: 'Stock updated.' }).waitFor();
      await page.getByRole('cell', { name: 'Delivery received' }).waitFor();
      // The ledger says who made each change.
      await page
        .getByRole('row')
        .filter({ hasText: 'Delivery received' })
        .getByRole('cell', { name: 'you' })
        .waitFor();
    }
    // Taking away more than is there: the refusal is in a shop worker's words.
    await page.getByLabel('Change').selectOption('remove');
    await page.getByLabel('Quantity').fill('50');
    await page.getByRole('button', { name: 'Record adjustment' }).click();
    await page.getByText('Only 3 units can be removed: 3 on hand').waitFor();
    expect(await page.getByText('on_hand').count()).toBe(0);
    // Mugs: 3 on hand with the default threshold shows as low stock.
    await page.getByLabel('Warn when available stock is at or below').fill('5');
    await page.getByRole('button', { name: 'Save level' }).click();
    await page.getByText('Saved.').waitFor();
    await screenshot(page, 'desktop-inventory-item');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inventory' }).click();
    await page.locator('tr.low-stock').filter({ hasText: 'MUG-01' }).waitFor();
    await screenshot(page, 'desktop-inventory');
  });

  it('sells at the point of sale, takes cash with change due, and the dashboard in another tab updates live', async () => {
    const dashboard = await desk.newPage();
    await dashboard.emulateMedia({ reducedMotion: 'reduce' });
    await dashboard.goto(platform.url + '/');
    await heading(dashboard, 'Dashboard');
    await dashboard.locator('.live-live').waitFor({ timeout: 15_000 });
    await dashboard.evaluate(() => ((window as unknown as { marker: string }).marker = 'no reload'));
    const revenueBefore = await dashboard.getByTestId('revenue-today').textContent();
    expect(revenueBefore).toBe('$0.00');

    await page.bringToFront();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Orders' }).click();
    await heading(page, 'Orders');
    await page.getByRole('link', { name: 'New order' }).click();
    await heading(page, 'New order');
    // No total, and so no currency, before a product is picked: the products bring theirs.
    expect(await page.locator('.total').textContent()).toBe('');
    // The catalog is searched by the API, by name or SKU; what is in the order stays there.
    const find = page.getByLabel('Find a product');
    await find.fill('beans');
    await page.getByRole('button', { name: 'Add Ceramic mug' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Add Espresso beans 1 kg' }).click();
    await page.getByRole('button', { name: 'Add Espresso beans 1 kg' }).click();
    await find.fill('mug-01');
    await page.getByRole('button', { name: 'Add Espresso beans 1 kg' }).waitFor({ state: 'detached' });
    // Each product shows its own stock, read for the products on screen.
    await page.getByRole('button', { name: 'Add Ceramic mug' }).getByText('3 available').waitFor();
    await page.getByRole('button', { name: 'Add Ceramic mug' }).click();
    // More mugs than the 3 in stock: told at once, and the API's refusal marks the line.
    const mugs = page.getByLabel('Quantity of Ceramic mug');
    const mugLine = page.locator('.cart-lines li').filter({ hasText: 'Ceramic mug' });
    await mugs.fill('4');
    await mugLine.getByText('Only 3 available.').waitFor();
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByRole('alert').filter({ hasText: 'Not enough stock for Ceramic mug' }).waitFor();
    await expect.poll(() => focusedLabel(page)).toBe('Quantity of Ceramic mug');
    expect(await mugs.getAttribute('aria-invalid')).toBe('true');
    await mugs.fill('1');
    await mugLine.getByText('Only 3 available.').waitFor({ state: 'detached' });
    await page.locator('.total').getByText('$58.90').waitFor();
    await screenshot(page, 'desktop-new-order');
    await page.getByRole('button', { name: 'Place order' }).click();
    await heading(page, /^Order #1$/);
    ids.order = page.url().split('/').pop()!;

    await page.getByRole('button', { name: 'Take payment' }).click();
    const dialog = page.getByRole('dialog', { name: 'Take payment for order #1' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Amount (USD)').inputValue()).toBe('58.90');
    await dialog.getByLabel('Cash handed over (USD, optional)').fill('60');
    await dialog.getByText('Change due: $1.10').waitFor();
    await dialog.getByRole('button', { name: 'Take cash' }).click();
    await dialog.getByText('Payment received').waitFor();
    await dialog.locator('.change-due').getByText('$1.10').waitFor();
    await screenshot(page, 'desktop-cash-change-due');
    await dialog.getByRole('button', { name: 'Done' }).click();
    // The order's status and its payment's, each named for what it is.
    await page.locator('.badges').getByText('Paid', { exact: true }).waitFor({ timeout: 10_000 });
    await page.locator('.badges').getByText('Payment: Paid', { exact: true }).waitFor();
    await page.getByRole('link', { name: 'Manual payment' }).waitFor();
    ids.payment = (await page.getByRole('link', { name: 'Manual payment' }).getAttribute('href'))!
      .split('/')
      .pop()!;
    // The history names the payment that made the order paid, as a link to it.
    const paidBy = page.locator('.timeline').getByRole('link', { name: 'payment', exact: true });
    expect(await paidBy.getAttribute('href')).toBe(`/payments/${ids.payment}`);
    const history = page.locator('.timeline li');
    await history.filter({ hasText: 'Placed (Pending)' }).getByText('by you').waitFor();
    await history.filter({ hasText: 'Pending → Paid' }).getByText('automatic').waitFor();
    await screenshot(page, 'desktop-order-detail');
    // The customer asks for a receipt at the counter: it is mailed to the address given.
    await page.getByRole('button', { name: 'Email receipt' }).click();
    const receipt = page.getByRole('dialog', { name: 'Email the receipt' });
    await receipt.getByLabel('E-mail').fill('customer@example.test');
    await receipt.getByRole('button', { name: 'Send receipt' }).click();
    await page.getByText('Receipt sent to customer@example.test.').waitFor();
    expect(
      mail.mails.filter((sent) => sent.to.includes('customer@example.test')).map((sent) => sent.body),
    ).toEqual([expect.stringContaining('Total: $58.90')]);

    // The other tab was never reloaded, yet shows today's revenue and order.
    await dashboard.getByTestId('revenue-today').getByText('$58.90').waitFor({ timeout: 20_000 });
    await dashboard.getByTestId('orders-today').getByText('1').waitFor();
    // Items and top products count once the order is paid, which the orders module records after
    // the payment: the dashboard catches up with a later push.
    await dashboard.getByTestId('items-sold').getByText('3', { exact: true }).waitFor({ timeout: 20_000 });
    const topProducts = dashboard.getByRole('table', { name: 'Top products' });
    await topProducts.getByRole('row', { name: /Espresso beans 1 kg\s+2\b/ }).waitFor();
    expect(await dashboard.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe(
      'no reload',
    );
    // Less motion was asked for: once the tab is in front (a background tab draws no animation
    // frames), the sale's bar is drawn at its height at once, not grown into place. The only bar,
    // so the tallest: it fills most of the plot.
    await dashboard.bringToFront();
    const bar = dashboard.locator('.chart .recharts-bar-rectangle path');
    await bar.first().waitFor({ timeout: 10_000 });
    expect(await bar.count()).toBe(1);
    const plot = (await dashboard.locator('.chart .recharts-cartesian-grid').boundingBox())!;
    expect((await bar.boundingBox())!.height).toBeGreaterThan(plot.height * 0.9);
    await screenshot(dashboard, 'desktop-dashboard');
    await dashboard.close();

    // Fulfil: the order moves on, the stock leaves on hand.
    await page.getByRole('button', { name: 'Fulfil' }).click();
    await page.locator('.badges').getByText('Fulfilled', { exact: true }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Orders' }).click();
    await page.getByLabel('Status').selectOption('fulfilled');
    await page.getByRole('link', { name: '#1' }).waitFor();
    await screenshot(page, 'desktop-orders');

    // This month's orders as a CSV file, for the accountant: an export of its own, not a filter.
    const exportForm = page.getByRole('form', { name: 'Export orders' });
    await exportForm.getByRole('group', { name: 'Export orders to CSV' }).waitFor();
    // A To day before the From day is refused at once, before any download is asked for.
    const exportTo = exportForm.getByLabel('To', { exact: true });
    const lastDay = await exportTo.inputValue();
    const firstDay = await exportForm.getByLabel('From', { exact: true }).inputValue();
    await exportTo.fill(
      new Date(Date.parse(`${firstDay}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10),
    );
    const reversed = exportForm.getByText('Choose a day on or after the From day.');
    await reversed.waitFor();
    await exportTo.fill(lastDay);
    await reversed.waitFor({ state: 'hidden' });
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      exportForm.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    // Named by the last day included, not by the next midnight the API's `to` excludes.
    expect(file.suggestedFilename()).toMatch(new RegExp(`^orders-\\d{4}-\\d{2}-\\d{2}-to-${lastDay}\\.csv$`));
    const csv = readFileSync(await file.path(), 'utf8').split('\r\n');
    expect(csv[0]).toBe(
      'number,placed_at,status,payment_status,currency,items,subtotal,total,amount_paid,amount_refunded,customer_email,note',
    );
    expect(csv[1]).toMatch(
      /^1,\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+05:30,fulfilled,paid,USD,3,58\.90,58\.90,58\.90,0\.00,,$/,
    );
  });

  it('keeps the business time zone the browser registered in, changes it, and shows dates in it', async () => {
    const zone = 'Asia/Kathmandu';
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await heading(page, 'Settings');
    const business = page.getByRole('form', { name: 'Business' });
    expect(await business.getByLabel('Time zone').inputValue()).toBe('Asia/Kolkata');
    await business.getByLabel('Time zone').selectOption(zone);
    await business.getByRole('button', { name: 'Save business settings' }).click();
    await business.getByRole('status').getByText('Business settings saved.').waitFor();

    // Kept: a reload reads it back from the API.
    await page.reload();
    await heading(page, 'Settings');
    expect(await business.getByLabel('Time zone').inputValue()).toBe(zone);

    // The order's history shows its times in Kathmandu (UTC+05:45), not in the browser's zone
    // (UTC+05:30).
    await page.goto(`${platform.url}/orders/${ids.order}`);
    await heading(page, /^Order #1$/);
    const placed = page.locator('.timeline time').first();
    await placed.waitFor();
    const at = (await placed.getAttribute('datetime'))!;
    const [inZone, inBrowserZone] = await page.evaluate(
      ([iso, timeZone]) =>
        [timeZone, undefined].map((shownIn) =>
          new Intl.DateTimeFormat(navigator.language, {
            dateStyle: 'medium',
            timeStyle: 'short',
            timeZone: shownIn,
          }).format(new Date(iso)),
        ),
      [at, zone] as const,
    );
    expect(inZone).not.toBe(inBrowserZone);
    expect(await placed.textContent()).toBe(inZone);

    // Back to the zone the later steps' "today" is counted in.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await heading(page, 'Settings');
    await business.getByLabel('Time zone').selectOption('Asia/Kolkata');
    await business.getByRole('button', { name: 'Save business settings' }).click();
    await business.getByRole('status').getByText('Business settings saved.').waitFor();
  });

  it('invites a staff member by mail, who cannot open refund approvals', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await heading(page, 'Users');
    await page.getByLabel('E-mail').fill(staff.email);
    await page.getByRole('checkbox', { name: /^Staff/ }).check();
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${staff.email}.`).waitFor();
    const pending = page.getByRole('table', { name: 'Pending invitations' });
    await pending.getByText(staff.email).waitFor();
    await screenshot(page, 'desktop-users');
    // An address that already belongs to a member is refused on the E-mail field, which takes focus.
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('This e-mail address belongs to someone already in this business.').waitFor();
    expect(await page.getByLabel('E-mail').getAttribute('aria-invalid')).toBe('true');
    await expect.poll(() => focusedLabel(page)).toBe('E-mail');
    expect(await page.getByRole('form', { name: 'Invite someone' }).getByRole('alert').count()).toBe(0);
    // An invitation sent by mistake is revoked (after a confirmation) and leaves the list.
    await page.getByLabel('E-mail').fill('mistaken@example.test');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await pending.getByText('mistaken@example.test').waitFor();
    await page.getByRole('button', { name: 'Revoke the invitation to mistaken@example.test' }).click();
    const revoke = page.getByRole('dialog', { name: 'Revoke the invitation?' });
    await revoke.getByText(/mistaken@example\.test stops working/).waitFor();
    await revoke.getByRole('button', { name: 'Revoke invitation' }).click();
    await revoke.waitFor({ state: 'detached' });
    // The row and its button are gone: focus is on what came of it.
    await expect.poll(() => focusedText(page)).toBe('Invitation to mistaken@example.test revoked.');
    await pending.getByText('mistaken@example.test').waitFor({ state: 'detached' });

    const link = await mail.link(staff.email, '/accept-invitation');
    const staffContext = await browser.newContext({ viewport: DESKTOP });
    const staffPage = await staffContext.newPage();
    await staffPage.goto(link);
    await heading(staffPage, 'Join your team');
    await staffPage.getByLabel('Your name').fill(staff.name);
    // The invited address, filled in by the page and not to be changed.
    expect(await staffPage.getByLabel('E-mail').inputValue()).toBe(staff.email);
    await staffPage.getByLabel('Password').fill(staff.password);
    await staffPage.getByRole('button', { name: 'Join' }).click();
    // Staff may not read analytics: their start page is the orders.
    await heading(staffPage, 'Orders');
    const nav = staffPage.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Orders' }).waitFor();
    for (const hidden of ['Refund approvals', 'Users', 'Settings', 'Dashboard']) {
      expect(await nav.getByRole('link', { name: hidden }).count()).toBe(0);
    }
    // A deep link does not get them in either.
    await staffPage.goto(platform.url + '/refunds');
    await heading(staffPage, 'No access');
    expect(await staffPage.getByRole('button', { name: /Approve and process/ }).count()).toBe(0);
    await screenshot(staffPage, 'desktop-staff-no-access');

    // Staff sell: an order placed and then cancelled (its stock released) ...
    await staffPage.goto(platform.url + '/orders/new');
    await staffPage.getByRole('button', { name: 'Add Espresso beans 1 kg' }).click();
    await staffPage.getByRole('button', { name: 'Place order' }).click();
    await heading(staffPage, /^Order #2$/);
    const staffOrder = staffPage.url();
    // Asked first, in the app's dialog: kept, nothing changes and focus is back on the button.
    await staffPage.getByRole('button', { name: 'Cancel order' }).click();
    const cancel = staffPage.getByRole('dialog', { name: 'Cancel order #2?' });
    await cancel.getByText(/reserved stock is released/).waitFor();
    await cancel.getByRole('button', { name: 'Keep order' }).click();
    await cancel.waitFor({ state: 'detached' });
    await expect.poll(() => focusedText(staffPage)).toBe('Cancel order');
    await staffPage.getByRole('button', { name: 'Cancel order' }).click();
    await cancel.getByRole('button', { name: 'Cancel order' }).click();
    await staffPage.locator('.badges').getByText('Cancelled', { exact: true }).waitFor();
    await expect.poll(() => focusedText(staffPage)).toBe('Order cancelled: its reserved stock was released.');
    await staffContext.close();
    // ... whose history names them to the admin.
    await page.goto(staffOrder);
    await heading(page, /^Order #2$/);
    const history = page.locator('.timeline li');
    await history.filter({ hasText: 'Placed (Pending)' }).getByText(`by ${staff.name}`).waitFor();
    await history.filter({ hasText: 'Pending → Cancelled' }).getByText(`by ${staff.name}`).waitFor();
  });

  it('switches between the businesses of a user who belongs to two', async () => {
    // Another business invites Ada as a manager; she joins it with her own account.
    const post = async (path: string, body: unknown, token?: string) => {
      const response = await fetch(platform.url + path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(201);
      return (await response.json()) as { access_token: string };
    };
    const bakery = await post('/auth/register', {
      email: 'bea@example.test',
      password: 'bakery owner passphrase',
      name: 'Bea Baker',
      tenant_name: 'Bea Bakery',
    });
    await post(
      '/tenants/current/invitations',
      { email: admin.email, roles: ['manager'] },
      bakery.access_token,
    );
    const invitation = new URL(await mail.link(admin.email, '/accept-invitation')).searchParams.get('token');
    await post('/auth/register', {
      email: admin.email,
      password: admin.password,
      name: admin.name,
      invitation_token: invitation,
    });

    await page.reload();
    const switcher = page.getByLabel('Business', { exact: true });
    await switcher.waitFor();
    expect(await switcher.locator('option').allTextContents()).toEqual(['Corner Shop', 'Bea Bakery']);
    await switcher.selectOption({ label: 'Bea Bakery' });
    await heading(page, 'Dashboard');
    const nav = page.getByRole('navigation', { name: 'Main' });
    // A manager there: no user administration; and none of the corner shop's orders.
    expect(await nav.getByRole('link', { name: 'Users' }).count()).toBe(0);
    await nav.getByRole('link', { name: 'Orders' }).click();
    await page.getByText('No orders yet.').waitFor();
    // The bakery prices in euros: a new product starts in the catalog's currency.
    await post(
      '/commerce/products',
      { sku: 'BREAD-1', name: 'Sourdough', price: 450, currency: 'EUR' },
      bakery.access_token,
    );
    await page.goto(`${platform.url}/products/new`);
    await heading(page, 'New product');
    await expect.poll(() => page.getByLabel('Currency').inputValue()).toBe('EUR');

    await switcher.selectOption({ label: 'Corner Shop' });
    await heading(page, 'Dashboard');
    await nav.getByRole('link', { name: 'Orders' }).click();
    await page.getByRole('link', { name: '#1' }).waitFor();
    await nav.getByRole('link', { name: 'Users' }).waitFor();
  });

  it('resets a forgotten password from the mailed link', async () => {
    const other = await browser.newContext({ viewport: DESKTOP });
    const tab = await other.newPage();
    await tab.goto(platform.url + '/login');
    await tab.getByRole('link', { name: 'Forgot your password?' }).click();
    await heading(tab, 'Forgot your password?');
    await tab.getByLabel('E-mail').fill(staff.email);
    await tab.getByRole('button', { name: 'Send the link' }).click();
    await heading(tab, 'Check your mail');

    await tab.goto(await mail.link(staff.email, '/reset-password'));
    await heading(tab, 'Choose a new password');
    await tab.getByLabel('New password', { exact: true }).fill('too short');
    await tab.getByRole('button', { name: 'Set new password' }).click();
    await tab.getByText('Use at least 12 characters (9 so far).').waitFor();
    staff.password = 'a brand new staff passphrase';
    await tab.getByLabel('New password', { exact: true }).fill(staff.password);
    await tab.getByLabel('Repeat the new password').fill(staff.password);
    await tab.getByRole('button', { name: 'Set new password' }).click();
    await heading(tab, 'Password changed');

    await signInAs(tab, staff.email, 'staff member passphrase 42');
    await tab.getByText('That e-mail and password do not match an account.').waitFor();
    await signInAs(tab, staff.email, staff.password);
    await heading(tab, 'Orders');
    // This browser is now a device the address signed in on: its next sign-in says so, and failed
    // attempts elsewhere cannot lock the address out here.
    const stored = () =>
      tab.evaluate(
        () => JSON.parse(localStorage.getItem('tessera.device-tokens') ?? '{}') as Record<string, string>,
      );
    const deviceToken = (await stored())[staff.email];
    expect(deviceToken).toMatch(/^v1\./);
    await tab.getByRole('button', { name: 'Sign out' }).click();
    await heading(tab, 'Sign in');
    const loginRequest = tab.waitForRequest((request) => request.url().endsWith('/auth/login'));
    await signInAs(tab, staff.email, staff.password);
    expect((await loginRequest).postDataJSON()).toMatchObject({ device_token: deviceToken });
    await heading(tab, 'Orders');
    expect((await stored())[staff.email]).not.toBe(deviceToken);
    await other.close();
  });

  it('keeps two tabs signed in through token refreshes while lists update live and resume after the network drops', async () => {
    const tabs = await browser.newContext({ viewport: DESKTOP });
    const refreshes: number[] = [];
    tabs.on('response', (response) => {
      if (response.url().endsWith('/auth/refresh')) refreshes.push(response.status());
    });
    const first = await tabs.newPage();
    await signInAs(first, admin.email, admin.password);
    await heading(first, 'Dashboard');
    const signedInAt = Date.now();
    const second = await tabs.newPage();
    await second.goto(platform.url + '/inventory');
    await heading(second, 'Inventory');
    await second.locator('.live-live').waitFor({ timeout: 15_000 });
    await second.evaluate(() => ((window as unknown as { marker: string }).marker = 'no reload'));
    const mugRow = second.locator('tr').filter({ hasText: 'MUG-01' });
    expect(await mugRow.locator('td[data-label="Available"]').textContent()).toMatch(/^2/);

    // An order in one tab reserves a mug: the other tab's inventory list follows from /ws.
    await first.goto(platform.url + '/orders/new');
    await first.getByRole('button', { name: 'Add Ceramic mug' }).click();
    await first.getByRole('button', { name: 'Place order' }).click();
    await heading(first, /^Order #3$/);
    await mugRow.locator('td[data-label="Available"]').getByText(/^1/).waitFor({ timeout: 15_000 });
    // Falling to 1 with a low-stock level of 5 is a notice, counted on the bell.
    await second
      .getByRole('button', { name: /^Notifications, [1-9]\d* unread$/ })
      .waitFor({ timeout: 15_000 });

    // The network drops; meanwhile stock arrives (through the API, as another device would).
    await tabs.setOffline(true);
    await second.locator('.live-offline').waitFor({ timeout: 15_000 });
    const token = (
      (await (
        await fetch(platform.url + '/auth/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: admin.email, password: admin.password }),
        })
      ).json()) as { access_token: string }
    ).access_token;
    const adjusted = await fetch(`${platform.url}/commerce/inventory/${ids.product}/adjustments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'idempotency-key': 'e2e-offline-delivery',
      },
      body: JSON.stringify({ delta: 20, reason: 'Delivery received' }),
    });
    expect(adjusted.ok).toBe(true);
    await tabs.setOffline(false);
    // Back online: the socket reconnects and resumes from the last event it saw.
    await second.locator('.live-live').waitFor({ timeout: 30_000 });
    await mugRow.locator('td[data-label="Available"]').getByText(/^21/).waitFor({ timeout: 15_000 });
    expect(await second.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('no reload');
    await second.getByRole('button', { name: /^Notifications/ }).click();
    await second
      .getByRole('region', { name: 'Notifications' })
      .getByText(/MUG-01 is low on stock/)
      .waitFor();
    await screenshot(second, 'desktop-notifications');
    await second.keyboard.press('Escape');

    // Past the access token's lifetime: both tabs act at the same moment, and only one refresh
    // may spend the refresh token.
    const wait = signedInAt + (ACCESS_TOKEN_TTL_S + 5) * 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await Promise.all(
      [first, second].map(async (tab) => {
        await tab.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Products' }).click();
        await heading(tab, 'Products');
        await tab.getByRole('link', { name: 'Ceramic mug' }).waitFor();
      }),
    );
    await Promise.all([first.reload(), second.reload()]);
    await heading(first, 'Products');
    await heading(second, 'Products');
    expect(refreshes.length).toBeGreaterThan(0);
    expect(refreshes.every((status) => status === 200)).toBe(true);
    expect(await first.getByRole('heading', { name: 'Sign in' }).count()).toBe(0);
    expect(await second.getByRole('heading', { name: 'Sign in' }).count()).toBe(0);
    await tabs.close();
  });

  it('takes screenshots of the remaining main pages on a desktop', async () => {
    for (const [path, title, name] of [
      [`/payments/${ids.payment}`, 'Manual payment', 'desktop-payment-detail'],
      ['/payments', 'Payments', 'desktop-payments'],
      ['/refunds', 'Refund approvals', 'desktop-refunds'],
      ['/reconciliation', 'Reconciliation', 'desktop-reconciliation'],
      ['/settings', 'Settings', 'desktop-settings'],
      ['/account', 'Account', 'desktop-account'],
      ['/no/such/page', 'Page not found', 'desktop-not-found'],
    ] as const) {
      await page.goto(platform.url + path);
      await heading(page, title);
      await page.locator('.loading').first().waitFor({ state: 'detached', timeout: 15_000 });
      await screenshot(page, name);
    }
  });

  it('signs another device out from the account page, and that device is refused at once', async () => {
    const login = await fetch(platform.url + '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'The other device' },
      body: JSON.stringify({ email: admin.email, password: admin.password }),
    });
    const other = (await login.json()) as { access_token: string };
    const otherReadsMe = async () =>
      (await fetch(platform.url + '/auth/me', { headers: { authorization: `Bearer ${other.access_token}` } }))
        .status;
    expect(await otherReadsMe()).toBe(200);

    await page.goto(platform.url + '/account');
    await heading(page, 'Account');
    // Devices by name (Debian's Chromium here), an unrecognised User-Agent as sent.
    await page.getByRole('row').filter({ hasText: 'This device' }).getByText('Chrome on Linux').waitFor();
    const row = page.getByRole('row').filter({ hasText: 'The other device' });
    await row.getByRole('button', { name: /^Sign out the session started/ }).click();
    await row.waitFor({ state: 'detached' });
    expect(await otherReadsMe()).toBe(401);
  });

  it('fits a 375-px phone screen on every page, with the menu behind a button', async () => {
    const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    const tab = await phone.newPage();
    const publicPages = [
      ['/login', 'Sign in', 'login'],
      ['/register', 'Create your business', 'register'],
      ['/forgot-password', 'Forgot your password?', 'forgot-password'],
      ['/reset-password?token=abc', 'Choose a new password', 'reset-password'],
      ['/accept-invitation?token=abc', 'Join your team', 'accept-invitation'],
    ] as const;
    for (const [path, title, name] of publicPages) {
      await tab.goto(platform.url + path);
      await heading(tab, title);
      expect(await horizontalOverflow(tab), path).toBe(0);
      await screenshot(tab, `phone-${name}`);
    }
    await signInAs(tab, admin.email, admin.password);
    await heading(tab, 'Dashboard');
    const pages = [
      ['/', 'Dashboard', 'dashboard'],
      ['/orders', 'Orders', 'orders'],
      ['/orders/new', 'New order', 'new-order'],
      [`/orders/${ids.order}`, 'Order #1', 'order-detail'],
      ['/products', 'Products', 'products'],
      ['/products/new', 'New product', 'product-new'],
      [`/products/${ids.product}`, 'Ceramic mug', 'product-edit'],
      ['/inventory', 'Inventory', 'inventory'],
      [`/inventory/${ids.product}`, 'Stock: Ceramic mug', 'inventory-item'],
      ['/payments', 'Payments', 'payments'],
      [`/payments/${ids.payment}`, 'Manual payment', 'payment-detail'],
      ['/refunds', 'Refund approvals', 'refunds'],
      ['/reconciliation', 'Reconciliation', 'reconciliation'],
      ['/disputes', 'Disputes', 'disputes'],
      ['/users', 'Users', 'users'],
      ['/settings', 'Settings', 'settings'],
      ['/account', 'Account', 'account'],
      ['/no/such/page', 'Page not found', 'not-found'],
    ] as const;
    for (const [path, title, name] of pages) {
      await tab.goto(platform.url + path);
      await heading(tab, title);
      await tab.locator('.loading').first().waitFor({ state: 'detached', timeout: 15_000 });
      expect(await horizontalOverflow(tab), path).toBe(0);
      await screenshot(tab, `phone-${name}`);
    }
    // The sidebar is a menu on phones: closed, it takes no room; opened, it navigates.
    const nav = tab.getByRole('navigation', { name: 'Main' });
    expect(await nav.isVisible()).toBe(false);
    await tab.getByRole('button', { name: 'Open menu' }).click();
    await nav.getByRole('link', { name: 'Orders' }).waitFor();
    expect(await horizontalOverflow(tab)).toBe(0);
    await screenshot(tab, 'phone-menu-open');
    await nav.getByRole('link', { name: 'Orders' }).click();
    await heading(tab, 'Orders');
    expect(await nav.isVisible()).toBe(false);
    // The link of the page already shown closes the menu too.
    await tab.getByRole('button', { name: 'Open menu' }).click();
    await nav.getByRole('link', { name: 'Orders' }).click();
    await expect.poll(() => nav.isVisible()).toBe(false);
    // Back and forward work through the app's own history.
    await tab.goBack();
    await heading(tab, 'Page not found');
    await tab.goForward();
    await heading(tab, 'Orders');
    // Signing out is in the menu, leaving the top bar's room to the business switcher.
    expect(await tab.getByRole('banner').getByRole('button', { name: 'Sign out' }).isVisible()).toBe(false);
    await tab.getByRole('button', { name: 'Open menu' }).click();
    await nav.getByRole('button', { name: 'Sign out' }).click();
    await heading(tab, 'Sign in');
    await phone.close();
  });

  it('takes a card through Stripe: authorize, capture part, request a refund, approve it, reconcile', async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Settings' }).click();
    const stripeForm = page.getByRole('form', { name: 'Stripe' });
    await stripeForm.getByText(`${platform.url}/webhooks/stripe`, { exact: true }).waitFor();
    // The events to send there, refunds made in Stripe's dashboard among them.
    await stripeForm.getByText('Events to send there').click();
    await stripeForm.getByText('refund.created', { exact: true }).waitFor();
    await stripeForm.getByLabel('Secret key').fill(stripe.secretKey);
    await stripeForm.getByLabel('Webhook signing secret').fill(stripe.webhookSecret);
    await stripeForm.getByRole('button', { name: 'Save Stripe' }).click();
    await stripeForm.getByText(/^Saved /).waitFor();

    await nav.getByRole('link', { name: 'Orders' }).click();
    await page.getByRole('link', { name: 'New order' }).click();
    await page.getByRole('button', { name: 'Add Espresso beans 1 kg' }).click();
    await page.getByRole('button', { name: 'Place order' }).click();
    await heading(page, /^Order #\d+$/);
    await page.getByRole('button', { name: 'Take payment' }).click();
    const dialog = page.getByRole('dialog', { name: /^Take payment for order/ });
    await dialog.getByLabel('Card', { exact: true }).check();
    await dialog.getByLabel('Card token from Stripe').fill('pm_card_visa');
    await dialog.getByLabel('Authorize only (capture later)').check();
    await dialog.getByRole('button', { name: 'Authorize card' }).click();
    await dialog.getByText('Payment authorized').waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();
    expect([...stripe.intents.values()].map((intent) => [intent.amount, intent.capture_method])).toEqual([
      [2450, 'manual'],
    ]);

    // Capture part of it: the rest of the authorization is released.
    await page.getByRole('link', { name: 'Stripe payment' }).click();
    await heading(page, /payment/i);
    await page.getByLabel('Capture amount (USD)').fill('20.00');
    await page.getByRole('button', { name: 'Capture' }).click();
    const captured = page.locator('dt', { hasText: 'Captured' }).locator('xpath=following-sibling::dd[1]');
    await captured.getByText('$20.00').waitFor();
    expect([...stripe.intents.values()][0]).toMatchObject({ status: 'succeeded', amount_received: 2000 });

    // A refund is requested here and processed by someone allowed to approve it.
    await page.getByRole('button', { name: 'Request refund' }).click();
    const request = page.getByRole('dialog', { name: 'Request a refund' });
    expect(await request.getByLabel('Amount (USD)').inputValue()).toBe('20.00');
    await request.getByLabel('Amount (USD)').fill('7.50');
    await request.getByLabel('Reason (optional)').fill('Bag arrived torn');
    await request.getByRole('button', { name: 'Request refund' }).click();
    await request.waitFor({ state: 'hidden' });
    const paymentUrl = page.url();
    // The approvals page asks the API for pending refunds only, so older ones are never lost behind
    // newer processed ones.
    const pendingListed = page.waitForRequest((sent) => {
      const url = new URL(sent.url());
      return url.pathname.endsWith('/commerce/refunds') && url.searchParams.get('status') === 'pending';
    });
    await nav.getByRole('link', { name: 'Refund approvals' }).click();
    await heading(page, 'Refund approvals');
    await pendingListed;
    // The accessible name reads the amount as money, not in minor units.
    await page.getByRole('button', { name: 'Approve and process refund of $7.50' }).click();
    // Nothing is sent before the approver confirms, told the amount and the payment it leaves.
    const approve = page.getByRole('dialog', { name: 'Approve the refund' });
    await approve
      .getByText(/^Refund \$7\.50 of the Stripe payment for order #\d+ to the customer\?$/)
      .waitFor();
    expect(stripe.refunds.size).toBe(0);
    await approve.getByRole('button', { name: 'Refund $7.50' }).click();
    await page.getByRole('status').filter({ hasText: 'Refund of $7.50 processed.' }).waitFor();
    await page.getByText('No refund awaits approval.').waitFor();
    expect([...stripe.refunds.values()].map((refund) => refund.amount)).toEqual([750]);

    await page.goto(paymentUrl);
    const refunded = page.locator('dt', { hasText: 'Refunded' }).locator('xpath=following-sibling::dd[1]');
    await refunded.getByText('$7.50').waitFor();
    await screenshot(page, 'desktop-card-payment');

    // The day's Stripe records, compared with ours: the one card payment matches.
    await nav.getByRole('link', { name: 'Reconciliation' }).click();
    await heading(page, 'Reconciliation');
    await page.getByLabel('Gateway', { exact: true }).selectOption('stripe');
    await page.getByLabel('Period').selectOption({ label: 'Today' });
    await page.getByRole('button', { name: 'Compare with the gateway' }).click();
    const counts = page.getByRole('list', { name: 'Results' });
    await counts.waitFor();
    expect(await counts.getByRole('listitem').allTextContents()).toEqual([
      '1 matched',
      '0 missing here',
      '0 missing at the gateway',
      '0 amounts differ',
      '0 statuses differ',
    ]);
    // The refund is compared too: $7.50 refunded here and at Stripe.
    const compared = page.getByRole('table', { name: 'This comparison' });
    expect(await compared.getByRole('cell', { name: '$7.50', exact: true }).count()).toBe(2);
    await page
      .getByRole('table', { name: 'Earlier comparisons' })
      .getByRole('link', { name: 'View payment' })
      .waitFor();
    await screenshot(page, 'desktop-reconciliation-run');

    // The customer's bank disputes the rest: Stripe tells, the desk hears of it at once and finds
    // the dispute, with the date to answer by, on the payment and among the disputes.
    const intent = [...stripe.intents.values()][0]!;
    const now = Math.floor(Date.now() / 1000);
    const delivery = stripe.webhook('charge.dispute.created', {
      id: 'dp_e2e',
      object: 'dispute',
      amount: 1250,
      currency: 'usd',
      charge: intent.latest_charge,
      payment_intent: intent.id,
      reason: 'product_not_received',
      status: 'needs_response',
      evidence_details: {
        due_by: now + 7 * 86_400,
        has_evidence: false,
        past_due: false,
        submission_count: 0,
      },
      created: now,
      livemode: false,
      metadata: {},
    });
    const hook = await fetch(`${platform.url}/webhooks/stripe`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
    });
    expect(hook.status).toBe(200);
    await page.getByRole('button', { name: /^Notifications, [1-9]\d* unread$/ }).click();
    await page
      .getByRole('region', { name: 'Notifications' })
      .getByRole('link', {
        name: /A payment of \$12\.50 is disputed \(product not received\): answer it in Stripe/,
      })
      .click();
    const onPayment = page.getByRole('table', { name: 'Disputes' });
    await onPayment.getByRole('cell', { name: 'Product not received' }).waitFor();
    expect(page.url()).toBe(paymentUrl);
    await nav.getByRole('link', { name: 'Disputes' }).click();
    await heading(page, 'Disputes');
    const waiting = page.getByRole('table', { name: 'Disputes' });
    await waiting.getByRole('cell', { name: '$12.50' }).waitFor();
    expect(await waiting.getByRole('cell', { name: 'Needs response' }).count()).toBe(1);
    await screenshot(page, 'desktop-disputes');

    // The month's payments for the accountant: the card payment with what was captured and refunded.
    await nav.getByRole('link', { name: 'Payments' }).click();
    await heading(page, 'Payments');
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page
        .getByRole('form', { name: 'Export payments' })
        .getByRole('button', { name: 'Download CSV' })
        .click(),
    ]);
    const rows = readFileSync(await file.path(), 'utf8').split('\r\n');
    expect(rows.filter((row) => row.includes(`,stripe,`))).toEqual([
      expect.stringMatching(
        new RegExp(`,stripe,partially_refunded,USD,24\\.50,20\\.00,7\\.50,,${intent.id},,`),
      ),
    ]);
  });
});
