import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, signIn, waitForHeading } from './support/browser';
import { startMailCatcher, type MailCatcher } from './support/mail';
import { startPlatform, type RunningPlatform } from './support/server';

/**
 * Invitation links in Chromium against the built platform and a real SMTP server: the page looks
 * the link up as it opens, shows who invites whom, and tells a dead link at once.
 */
const DESKTOP = { width: 1280, height: 860 };
const admin = {
  name: 'Ada Merchant',
  email: 'ada@invitations.test',
  password: 'correct horse battery staple',
};
const staff = { name: 'Sam Staff', email: 'sam@invitations.test', password: 'staff member passphrase 42' };
const baker = { name: 'Bea Baker', email: 'bea@invitations.test', password: 'bakery owner passphrase' };
const ROLES = ['Admin', 'Manager', 'Staff', 'User'] as const;
const DEAD_LINK =
  'This invitation link has been used, withdrawn or has expired. Ask the person who invited you for a new one.';

describe('invitation links', () => {
  let platform: RunningPlatform;
  let mail: MailCatcher;
  let browser: Browser;
  let page: Page;

  const register = async (who: typeof admin, business: string) => {
    const response = await fetch(platform.url + '/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...who, tenant_name: business }),
    });
    expect(response.status).toBe(201);
  };
  const heading = waitForHeading;
  /** A browser of its own (nobody signed in) on the link. */
  const openLink = async (link: string) => {
    const visitor = await browser.newContext({ viewport: DESKTOP });
    const tab = await visitor.newPage();
    await tab.goto(link);
    await heading(tab, 'Join your team');
    return tab;
  };
  /** The admin invites the address with one role, on the Users page; answers the mailed link. */
  const invite = async (email: string, role: (typeof ROLES)[number]) => {
    await page.goto(platform.url + '/users');
    await heading(page, 'Users');
    const form = page.getByRole('form', { name: 'Invite someone' });
    await form.getByLabel('E-mail').fill(email);
    for (const each of ROLES)
      await form.getByRole('checkbox', { name: new RegExp(`^${each}`) }).setChecked(each === role);
    await form.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${email}.`).waitFor();
    return mail.link(email, '/accept-invitation');
  };

  beforeAll(async () => {
    mail = await startMailCatcher();
    platform = await startPlatform({ SMTP_URL: mail.url });
    browser = await launchBrowser();
    await register(admin, 'Corner Shop');
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    await signIn(page, platform.url, admin);
    await heading(page, 'Dashboard');
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    await mail?.stop();
  });

  it('shows who invites whom; the invitee joins; the used link is dead at once', async () => {
    const link = await invite(staff.email, 'Staff');
    const tab = await openLink(link);
    await tab.getByText(`Corner Shop invited ${staff.email} to join as Staff`).waitFor();
    const email = tab.getByLabel('E-mail');
    expect(await email.inputValue()).toBe(staff.email);
    expect(await email.getAttribute('readonly')).not.toBeNull();
    await screenshot(tab, 'desktop-accept-invitation');
    // Nothing refused before the form is filled in.
    expect(await tab.getByRole('alert').count()).toBe(0);
    await tab.getByLabel('Your name').fill(staff.name);
    await tab.getByLabel('Password').fill(staff.password);
    await tab.getByRole('button', { name: 'Join Corner Shop' }).click();
    await heading(tab, 'Orders');
    await tab.context().close();

    const again = await openLink(link);
    await again.getByRole('alert').filter({ hasText: DEAD_LINK }).waitFor();
    expect(await again.getByRole('button', { name: /^Join/ }).count()).toBe(0);
    expect(await again.getByLabel('Password').count()).toBe(0);
    await screenshot(again, 'desktop-accept-invitation-dead');
    await again.context().close();
  });

  it('asks an address with an account for its password only', async () => {
    await register(baker, 'Bea Bakery');
    const link = await invite(baker.email, 'Manager');
    const tab = await openLink(link);
    await tab.getByText(`Corner Shop invited ${baker.email} to join as Manager`).waitFor();
    await tab
      .getByText('This e-mail address already has a Tessera account: enter its password to join.')
      .waitFor();
    expect(await tab.getByLabel('Your name').count()).toBe(0);
    await tab.getByLabel('Password').fill('not the bakery password');
    await tab.getByRole('button', { name: 'Join Corner Shop' }).click();
    await tab.getByText(/^This is not the password of your Tessera account\./).waitFor();
    await tab.getByLabel('Password').fill(baker.password);
    await tab.getByRole('button', { name: 'Join Corner Shop' }).click();
    await heading(tab, 'Dashboard');
    await tab.context().close();
  });

  it('tells a link that never worked at once, as a used one', async () => {
    const tab = await openLink(platform.url + '/accept-invitation?token=not-an-invitation');
    await tab.getByRole('alert').filter({ hasText: DEAD_LINK }).waitFor();
    expect(await tab.getByLabel('Password').count()).toBe(0);
    await tab.context().close();
  });
});
