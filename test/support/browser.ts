/**
 * Headless Chromium for tests that must see a page laid out and its scripts run. The browser is the build the
 * @sparticuz/chromium package carries (unpacked under the temp folder on first use), driven by
 * puppeteer-core: npm installs both, so no system browser and no download at test time.
 */
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Starts a browser; the caller closes it (in a finally or afterAll). */
export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args,
    headless: true,
  });
}
