import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { signIn } from './browser.js';
import { startRoutingRelay, writeRules } from './pipeline.js';
import { tempDir, type TestRelay } from './relay.js';

/** What `useConsoleRelay` gives the tests of a file, set once its `beforeAll` has run. */
export interface ConsoleRelay {
  relay: TestRelay;
  /** The session cookie of a console signed in with the token. */
  cookie: string;
}

/**
 * A routing relay with the console on (`token`), shared by the tests of one file: before them,
 * started in a fresh folder on the rules `rules()` returns (YAML text; null: no rules file, so
 * nothing is routed), given `setup` (events
 * posted, deliveries awaited) and signed in; stopped and its folder removed after them. Read
 * the fields inside tests, not at module level.
 */
export function useConsoleRelay(token: string, rules: (() => string | Promise<string>) | null, setup: (relay: TestRelay) => Promise<void> = async () => {}): ConsoleRelay {
  const handle = {} as ConsoleRelay;
  let cleanup: (() => void) | undefined;
  beforeAll(async () => {
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rulesPath = rules ? writeRules(temp.dir, await rules()) : join(temp.dir, 'no-rules-yet.yaml');
    handle.relay = await startRoutingRelay({ dir: temp.dir, rulesPath, ui: { token } });
    await setup(handle.relay);
    ({ cookie: handle.cookie } = await signIn(handle.relay.url, token));
  }, 30_000);
  afterAll(async () => {
    await handle.relay?.stop();
    cleanup?.();
  });
  return handle;
}
