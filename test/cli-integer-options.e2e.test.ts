import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/log/store.js';
import { cliEnv, expectOneLine, runCli } from './helpers/cli.js';
import { engineFixture, engineOptions, ENGINES, type EngineFixture } from './helpers/engines.js';
import { TEST_MASTER_KEY } from './helpers/pg.js';
import { tempDir } from './helpers/relay.js';

/**
 * Every integer option refuses a value past its bound with the usual one-line error naming it
 * (exit 1). QA: `deliveries --limit 99999999999999999999` ended in `internal error: SqliteError:
 * datatype mismatch`, exit 2 (and past 2^63 PostgreSQL's LIMIT is no bigint either).
 */
describe.each(ENGINES)('deliveries --limit on %s', (engine) => {
  let fx: EngineFixture;
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    fx = await engineFixture(engine);
    ({ dir, cleanup } = tempDir());
    const store = await openStore(fx.location, engineOptions(fx.location));
    const at = '2026-06-01T10:00:00.000Z';
    const body = JSON.stringify({ event_id: 'evt_1', event_type: 'call.completed', created_at: at, org_id: 'org_1', data: { call_id: 'call_1' } });
    await store.writer.append([{ type: 'event.received', data: { event_id: 'evt_1', event_type: 'call.completed', org_id: 'org_1', created_at: at, received_at: at, call_id: 'call_1', body } }]);
    await store.close();
  }, 60_000);
  afterAll(async () => {
    await fx?.cleanup();
    cleanup?.();
  });
  const deliveries = (limit: string) =>
    runCli(['--db', fx.location, 'deliveries', '--json', '--limit', limit], { cwd: dir, env: cliEnv({ HUSKY_RELAY_MASTER_KEY: TEST_MASTER_KEY }), timeoutMs: 30_000 });

  it.each(['99999999999999999999', '9223372036854775807', '9007199254740992'])('--limit %s: "is over the largest limit", exit 1', async (limit) => {
    expectOneLine(await deliveries(limit), new RegExp(`--limit: ${limit} is over the largest limit, ${Number.MAX_SAFE_INTEGER}$`));
  });

  it('--limit at the largest limit lists every delivery', async () => {
    const r = await deliveries(String(Number.MAX_SAFE_INTEGER));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it.each(['0', '-1', '1.5', '1e3', 'ten'])('--limit %s: "is not a positive whole number", exit 1', async (limit) => {
    expectOneLine(await deliveries(limit), new RegExp(`--limit: "${limit.replace('.', '\\.')}" is not a positive whole number$`));
  });
});

describe('serve\'s integer options past their bounds', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => void ({ dir, cleanup } = tempDir()));
  afterAll(() => cleanup?.());

  it.each([
    [['--port', '99999999999999999999'], /--port: "99999999999999999999" is not a port number$/],
    [['--max-body', '99999999999999999999'], /--max-body: 99999999999999999999 is over the largest limit, 32 MiB/],
    [['--max-body', '99999999999999999999MiB'], /--max-body: 99999999999999999999MiB is over the largest limit, 32 MiB/],
  ])('serve %j: one line naming the option, exit 1', async (args, what) => {
    expectOneLine(await runCli(['--db', `${dir}/relay.db`, 'serve', ...args], { cwd: dir, env: cliEnv() }), what);
  });

  it('PORT=99999999999999999999: one line naming PORT, exit 1', async () => {
    expectOneLine(await runCli(['--db', `${dir}/relay.db`, 'serve'], { cwd: dir, env: cliEnv({ PORT: '99999999999999999999' }) }), /PORT: "99999999999999999999" is not a port number$/);
  });
});
