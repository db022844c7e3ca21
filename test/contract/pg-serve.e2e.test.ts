import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cliEnv, killServe, runCli, startServe, type ServeProcess } from '../helpers/cli.js';
import { freshPgDatabase, pgQuery, TEST_MASTER_KEY } from '../helpers/pg.js';
import { makeEvent, SECRET, tempDir } from '../helpers/relay.js';

/**
 * SPEC §13, several `serve` processes on one PostgreSQL log: each answers webhooks, every event
 * is routed once, each delivery is attempted by one process at a time, and a process that dies
 * leaves its work to the others within seconds (at most its attempts in flight made again).
 */

/** A receiver that takes `delayMs` to answer and notes, per delivery (`webhook-id`), every attempt's span. */
async function slowReceiver(delayMs: number) {
  const spans = new Map<string, [number, number][]>();
  let overlaps = 0;
  const server: Server = createServer((req, res) => {
    const id = String(req.headers['webhook-id']);
    const start = performance.now();
    const mine = spans.get(id) ?? [];
    spans.set(id, mine);
    if (mine.some(([, end]) => end === Infinity)) overlaps += 1; // another attempt of it is still open
    const span: [number, number] = [start, Infinity];
    mine.push(span);
    req.resume();
    setTimeout(() => {
      span[1] = performance.now();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    spans,
    overlaps: () => overlaps,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex');
const event = (n: number) => makeEvent({ event_id: `evt_multi_${n}` }, { call_id: `call_${n}` });

/** POSTs a signed event; the status, or 0 when the relay could not be reached (killed). */
async function post(relay: ServeProcess, body: string): Promise<number> {
  try {
    const answer = await fetch(relay.webhookUrl, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-husky-signature': sign(body) }, signal: AbortSignal.timeout(5000) });
    await answer.arrayBuffer();
    return answer.status;
  } catch {
    return 0;
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('several serve processes on one PostgreSQL log', () => {
  let db: Awaited<ReturnType<typeof freshPgDatabase>>;
  let temp: ReturnType<typeof tempDir>;
  let receiver: Awaited<ReturnType<typeof slowReceiver>>;
  const relays: ServeProcess[] = [];
  let env: NodeJS.ProcessEnv;
  const start = async () => {
    const relay = await startServe({ dbPath: db.url, cwd: temp.dir, env, timeoutMs: 20_000 });
    relays.push(relay);
    return relay;
  };
  const succeeded = async () =>
    (await pgQuery<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM p_deliveries WHERE status = 'succeeded'`))[0]!.n;

  beforeEach(async () => {
    db = await freshPgDatabase();
    temp = tempDir();
    receiver = await slowReceiver(100);
    const rulesPath = `${temp.dir}/rules.yaml`;
    writeFileSync(rulesPath, `version: 1\nsinks:\n  hook: { type: http, url: "${receiver.url}" }\nrules:\n  - id: all\n    on: call.*\n    actions:\n      - sink: hook\n`);
    env = cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, HUSKY_RELAY_MASTER_KEY: TEST_MASTER_KEY, HUSKY_RELAY_UI_TOKEN: 'pg-serve-console-token-0123456789abcdef', HUSKY_RELAY_RULES: rulesPath });
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => killServe(r)));
    await receiver.close();
    await db.drop();
    temp.cleanup();
  });

  it('both answer webhooks; every event is planned once and delivered once', async () => {
    // Given two relays on one database
    const [a, b] = [await start(), await start()];
    // When 20 events arrive, spread over both
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, n) => post(n % 2 ? a! : b!, event(n))));
    // Then each is acknowledged, planned once, and delivered once
    expect(statuses).toEqual(Array(20).fill(200));
    await until('20 deliveries succeeded', async () => (await succeeded()) === 20);
    const planned = await pgQuery<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM entries WHERE type = 'delivery.planned'`);
    expect(planned[0]!.n).toBe(20);
    expect(receiver.spans.size).toBe(20);
    expect([...receiver.spans.values()].every((s) => s.length === 1)).toBe(true);
    // And a CLI command reads the same log while they run
    const status = await runCli(['--db', db.url, 'status', '--json'], { cwd: temp.dir, env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).events.total).toBe(20);
  }, 60_000);

  it('kill test: one relay is SIGKILLed mid-run and restarted; nothing acknowledged is lost, no delivery is attempted by both at once', async () => {
    // Given two relays taking events over 16 connections, the receiver answering in 100 ms
    let [a, b] = [await start(), await start()];
    const acked = new Set<number>();
    let next = 0;
    const total = 240;
    const client = async (c: number) => {
      while (next < total) {
        const n = next++;
        // a load balancer's retry: the other relay when one does not answer
        for (let tries = 0; tries < 20 && !acked.has(n); tries++) {
          const status = await post((n + c + tries) % 2 ? a! : b!, event(n));
          if (status === 200) acked.add(n);
          else await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, c) => client(c)));
    // When, mid-run, the relay holding the pipeline lease is killed, and started again
    await until('some deliveries made', async () => (await succeeded()) >= 30);
    const holder = (await pgQuery<{ holder: string }>(db.url, `SELECT holder FROM hr_leases WHERE name = 'pipeline'`))[0]!.holder;
    const victim = holder.split(':')[1] === String(a!.child.pid) ? a! : b!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    // The kill as this process sees it: the receiver below runs on this event loop, so an attempt
    // the victim sent just before dying may be handled (and timed) a little after the kill was
    // sent on a loaded machine; no other relay can take the 5 s lease in between.
    const killedAt = performance.now();
    const restarted = await start();
    if (victim === a) a = restarted;
    else b = restarted;
    await load;

    // Then every acknowledged event is in the log and delivered
    expect(acked.size).toBe(total);
    await until(`${total} deliveries succeeded`, async () => (await succeeded()) === total, 60_000);
    const events = await pgQuery<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM entries WHERE type = 'event.received'`);
    expect(events[0]!.n).toBe(total);
    expect(receiver.spans.size).toBe(total);
    // And a delivery reached the receiver again only when its attempt was in flight at the kill:
    // begun before it, and never recorded (the log holds one attempt fewer than the receiver saw)
    const recorded = new Map(
      (await pgQuery<{ id: string; n: number }>(db.url, `SELECT data ->> 'delivery_id' AS id, count(*)::int AS n FROM entries WHERE type = 'delivery.attempted' GROUP BY 1`)).map((r) => [r.id, r.n]),
    );
    const repeated = [...receiver.spans.entries()].filter(([, spans]) => spans.length > 1);
    for (const [id, spans] of repeated) {
      expect(spans[0]![0]).toBeLessThan(killedAt);
      expect(spans).toHaveLength(2);
      expect(recorded.get(id)).toBe(1);
    }
    expect([...receiver.spans.entries()].filter(([id, spans]) => spans.length === 1 && recorded.get(id) !== 1)).toEqual([]);
    // And the other relay took the work over within seconds (the lease lapses in 5 s; a loaded CI machine starts the pipeline thread slowly)
    const firstAfter = Math.min(...[...receiver.spans.values()].flat().map(([begun]) => begun).filter((begun) => begun > killedAt));
    expect(firstAfter - killedAt).toBeLessThan(15_000);
    // And no delivery was ever attempted by both relays at once
    expect(receiver.overlaps()).toBe(0);
  }, 120_000);
});
