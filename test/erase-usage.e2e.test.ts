import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './helpers/cli.js';
import { makeEvent, startTestRelay, tempDir } from './helpers/relay.js';

/**
 * `erase` asked the wrong way (README "Personal data"): each is one line on stderr that says
 * what is wrong, exit 1, and nothing erased; a contact no call carries is not an error.
 */
let dir: string;
let cleanup: () => void;
let dbPath: string;
const cli = (...args: string[]) => runCli(['--db', dbPath, ...args], { cwd: dir, env: cliEnv(), timeoutMs: 60_000 });

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  const relay = await startTestRelay({ dir });
  dbPath = relay.dbPath;
  expect((await relay.postSigned(makeEvent({}, { call_id: 'call_kept', contact_email: 'kept@example.com' }))).status).toBe(200);
  await relay.close();
  relay.log.close();
}, 60_000);
afterAll(() => cleanup());

describe('erase usage errors', () => {
  it.each([
    ['neither --call nor --contact', [], 'erase: give either --call ID... or --contact EMAIL_OR_PHONE'],
    ['both --call and --contact', ['--call', 'call_kept', '--contact', 'kept@example.com'], 'erase: give either --call ID... or --contact EMAIL_OR_PHONE'],
    ['a call the log does not have', ['--call', 'call_kept', 'call_nowhere'], 'erase: no call call_nowhere in the log'],
    ['a contact that is neither an email nor a phone number', ['--contact', 'kept'], 'erase --contact: "kept" is neither an email nor a phone number'],
  ])('%s: exit 1 with one line naming it, and nothing erased', async (_what, args, message) => {
    const result = await cli('erase', ...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const story = await cli('log', '--json', '--call', 'call_kept');
    expect(story.code).toBe(0);
    expect(story.stdout).toContain('kept@example.com');
    expect(story.stdout).not.toContain('call.erased');
  }, 60_000);

  it('a contact no call carries: exit 0, says nothing to erase', async () => {
    const result = await cli('erase', '--contact', 'nobody@example.com');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('no call in the log carries nobody@example.com; nothing to erase\n');
  }, 60_000);
});
