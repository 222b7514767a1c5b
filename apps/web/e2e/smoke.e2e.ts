import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { horizontalOverflow, launchBrowser, screenshot } from './support/browser';
import { startPlatform, type RunningPlatform } from './support/server';

describe('the web app served by the platform', () => {
  let platform: RunningPlatform;
  let browser: Browser;

  beforeAll(async () => {
    platform = await startPlatform();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it('loads at / and on a deep link, without horizontal overflow on a phone', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
    for (const path of ['/', '/some/deep/link']) {
      const response = await page.goto(platform.url + path);
      expect(response?.status()).toBe(200);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor({ state: 'visible', timeout: 10_000 });
      expect(await horizontalOverflow(page)).toBe(0);
    }
    await screenshot(page, 'home-phone');
    await page.close();
  });
});
