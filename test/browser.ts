// Headless Chromium for the browser tests (playwright-core drives the system's Chromium; it
// downloads none). `npm test` needs it: missing, the tests fail saying how to install it.
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Launches Chromium, or fails (never skips) with how to install it. */
export async function launchChromium(executablePath = CHROMIUM, timeoutMs = 15_000): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `The browser tests need Chromium at ${executablePath}, and it is not there. Install it ` +
        '(Debian/Ubuntu: `apt-get install chromium`) and run the tests again.',
    );
  }
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
    timeout: timeoutMs,
  });
}

/**
 * A fresh profile (no cookies) whose requests may reach `allowedHost` only; anything else is
 * refused and noted in `offHost`, except what `intercept` answers (e.g. a redirect URI on a domain
 * the test does not own).
 */
export async function isolatedContext(
  browser: Browser,
  options: {
    allowedHost: string;
    offHost: string[];
    intercept?: (url: URL) => { status: number; body: string } | undefined;
    timeoutMs?: number;
  },
): Promise<BrowserContext> {
  const context = await browser.newContext();
  context.setDefaultTimeout(options.timeoutMs ?? 15_000);
  context.setDefaultNavigationTimeout(options.timeoutMs ?? 15_000);
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === options.allowedHost) return route.continue();
    const answer = options.intercept?.(url);
    if (answer) return route.fulfill({ status: answer.status, contentType: 'text/plain', body: answer.body });
    options.offHost.push(url.href);
    return route.abort('blockedbyclient');
  });
  return context;
}

/** Signs in on the hosted page `page` shows and allows the consent (picking org `orgId` if asked). */
export async function signInAndAllow(
  page: Page,
  user: { email: string; password: string; orgId?: string },
): Promise<void> {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor({ state: 'visible' });
  const picker = page.getByLabel('Organization');
  if (user.orgId && (await picker.count()) > 0) await picker.selectOption(user.orgId);
  await page.getByRole('button', { name: 'Allow' }).click();
}
