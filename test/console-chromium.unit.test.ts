import { describe, expect, it } from 'vitest';
import { launchBrowser } from './helpers/browser.js';

/** The browser tests need Debian's Chromium; without it they fail with one line saying what to install, never skip. */
describe('the browser tests without Chromium', () => {
  it('fail with one line naming the Debian package chromium', async () => {
    const failure = await launchBrowser('/nonexistent/chromium').then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).toBe('/nonexistent/chromium is missing: install the Debian package chromium (sudo apt-get install chromium)');
    expect(failure!.split('\n')).toHaveLength(1);
  });
});
