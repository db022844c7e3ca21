import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium, which the browser tests drive (README "Console"). */
export const CHROMIUM = '/usr/bin/chromium';

/** Where the browser tests leave a screenshot of each page, for a person to look at (never committed). */
export const SCREENSHOTS = join(tmpdir(), 'husky-relay-console-screenshots');

/**
 * Starts headless Chromium with a fresh profile (a new context: no cookies, no cache). Without
 * Chromium it throws one line naming the Debian package: the tests fail, never skip.
 */
export async function launchBrowser(executablePath = CHROMIUM): Promise<{ browser: Browser; context: BrowserContext; page: Page }> {
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: install the Debian package chromium (sudo apt-get install chromium)`);
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(8000);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return { browser, context, page };
}

/** Saves a full-page screenshot as `SCREENSHOTS/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in to the console at `base` with `token` from a fresh cookie jar (its own sign-in page and CSRF token), as a script would: the answer's status and redirect. */
export async function signInStatus(base: string, token: string): Promise<{ status: number; location: string | null }> {
  const { status, location } = await signIn(base, token);
  return { status, location };
}

/** As `signInStatus`, with the `cookie` header a script sends afterwards (the session's cookie once signed in). */
export async function signIn(base: string, token: string): Promise<{ status: number; location: string | null; cookie: string }> {
  const login = await fetch(`${base}/ui/login`);
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const answer = await fetch(`${base}/ui/login`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token }).toString(),
    redirect: 'manual',
  });
  const session = answer.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { status: answer.status, location: answer.headers.get('location'), cookie: session || cookie };
}
