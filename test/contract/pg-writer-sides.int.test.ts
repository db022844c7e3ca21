import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { WriterClient } from '../../src/log/sqlite/writer-client.js';
import type { AppendHooks } from '../../src/log/pg/pg-append.js';
import { PgStore } from '../../src/log/pg/pg-store.js';
import type { Appended } from '../../src/log/seam.js';
import type { Store } from '../../src/log/store.js';
import type { Entry } from '../../src/log/types.js';
import { engineFixture, type EngineFixture } from '../helpers/engines.js';
import { TEST_MASTER_KEY } from '../helpers/pg.js';
import { rulesLoaded } from '../helpers/group-commit-fixture.js';

/**
 * `serve`'s writer on PostgreSQL (`PgGroupCommit`) never puts the main thread's requests
 * (webhooks waiting for their 200) and the pipeline channel's in one transaction, because the
 * pipeline's do not wait for their WAL flush (`synchronous_commit = off`) and a webhook's must;
 * each side's requests keep their order. Seen from the log: a transaction stamps all its entries
 * with the clock of its newest request, so each side's entries keep their own thread's clock
 * however the requests arrived. When both sides wait, they take turns: a steady stream of one
 * side's requests never holds the other's back for more than the transaction in flight.
 */
const MAIN_AT = '2026-06-01T10:00:00.000Z';
const PIPELINE_AT = '2026-06-01T11:00:00.000Z';

describe("serve's writer on PostgreSQL: a transaction holds one side's requests", () => {
  let fixture: EngineFixture | undefined;
  let store: Store | undefined;
  let channel: MessageChannel | undefined;
  afterEach(async () => {
    channel?.port1.close();
    await store?.close();
    await fixture?.cleanup();
  });

  it("requests of both sides waiting together are committed apart, each side's waiting requests together and in order", async () => {
    fixture = await engineFixture('postgres');
    // each PostgreSQL transaction says, before its commit, whether that commit waits for the WAL flush
    const syncOf = new Map<number, string>();
    // the main thread's clock moves at every request: a transaction stamps its newest request's
    let tick = 0;
    const now = () => new Date(Date.parse(MAIN_AT) + 1000 * tick++);
    // the large commit below is held open until every append of the test is made
    let opened!: () => void;
    const allMade = new Promise<void>((resolve) => (opened = resolve));
    const hooks: AppendHooks = {
      beforeCommit: async (seqs, client) => {
        const setting = (await client.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0]!.s;
        for (const seq of seqs) syncOf.set(seq, setting);
        if (seqs.length > 1000) await allMade;
      },
    };
    store = await PgStore.open(fixture.location, { masterKeys: TEST_MASTER_KEY, now, hooks });
    const writer = store.serveWriter(() => {});
    channel = new MessageChannel();
    const pipeline = new WriterClient(channel.port1, writer.connect(channel.port2), () => new Date(PIPELINE_AT));
    // Given a writer that is up (its first commit answered), then busy with a large commit of the main thread's
    await writer.append([rulesLoaded(-1)]);
    const busy = writer.append(Array.from({ length: 1499 }, (_, i) => rulesLoaded(i)));
    await new Promise((resolve) => setImmediate(resolve)); // posted alone
    // When both sides append while it runs, interleaved, each append a request of its own (one per turn of the loop)
    const appends: Promise<unknown>[] = [];
    for (let n = 0; n < 3; n++) {
      appends.push(writer.append([rulesLoaded(2000 + n)]), pipeline.append([rulesLoaded(3000 + n)]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    opened();
    await Promise.all([busy, ...appends]);
    await writer.close();
    const pathOf = (e: Entry) => (e.data as { path: string }).path;
    const rows = ((await store.log.read(0, { limit: 2000 })) as Entry[]).filter((r) => /^r[23]00\d\.yaml$/.test(pathOf(r)));
    const mainRows = rows.filter((r) => pathOf(r).startsWith('r2'));
    const pipelineRows = rows.filter((r) => pathOf(r).startsWith('r3'));
    expect(rows).toHaveLength(6);
    // Then every entry carries its own side's clock: no transaction mixed the two
    for (const row of pipelineRows) expect(row.at).toBe(PIPELINE_AT);
    for (const row of mainRows) expect(row.at).not.toBe(PIPELINE_AT);
    // and the main thread's three requests, all waiting when the writer came free, went in one transaction
    expect(new Set(mainRows.map((r) => r.at)).size).toBe(1);
    // and each side's appends are in the log in the order made
    expect(mainRows.map(pathOf)).toEqual(['r2000.yaml', 'r2001.yaml', 'r2002.yaml']);
    expect(pipelineRows.map(pathOf)).toEqual(['r3000.yaml', 'r3001.yaml', 'r3002.yaml']);
    // and the webhooks' commits wait for their flush, the pipeline's do not
    for (const row of rows) expect(syncOf.get(row.seq)).toBe(row.at === PIPELINE_AT ? 'off' : 'on');
  });

  // How many transactions the streaming side commits before the test stops feeding it: a writer
  // that let one side starve the other would commit the lone request only after all of these.
  const STREAM_LIMIT = 12;
  // The streaming side's transaction (counted from 1) during which the other side's lone request is made.
  const LONE_DURING = 3;
  /** The lone request's entry: `r5000.yaml`. */
  const LONE = 5000;

  it.each([
    ['pipeline', 'main'],
    ['main', 'pipeline'],
  ] as const)('a steady stream of %s requests does not starve the %s side: its request goes in the very next transaction', async (streaming, lone) => {
    fixture = await engineFixture('postgres');
    // Each transaction as PostgreSQL runs it: whose it is (a webhook's waits for its WAL flush, the pipeline's does not), its seqs
    const transactions: { side: 'main' | 'pipeline'; seqs: number[] }[] = [];
    // every append made, by the number in its entry's path
    const made = new Map<number, Promise<Appended[]>>();
    let loneCameDuring = -1;
    let streamEnded!: () => void;
    const ended = new Promise<void>((resolve) => (streamEnded = resolve));
    let request!: (side: 'main' | 'pipeline', n: number) => Promise<void>;
    let started = false;
    const hooks: AppendHooks = {
      beforeCommit: async (seqs, client) => {
        if (!started) return;
        const setting = (await client.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`)).rows[0]!.s;
        const side = setting === 'off' ? 'pipeline' : 'main';
        transactions.push({ side, seqs });
        if (side !== streaming) return;
        const streamed = transactions.filter((t) => t.side === streaming).length;
        // the stream: while this transaction runs, the next request of its side comes and waits
        if (streamed < STREAM_LIMIT) await request(streaming, 1000 + streamed);
        else streamEnded();
        // and once it flows, one request of the other side comes
        if (streamed === LONE_DURING) {
          loneCameDuring = transactions.length - 1;
          await request(lone, LONE);
        }
      },
    };
    store = await PgStore.open(fixture.location, { masterKeys: TEST_MASTER_KEY, hooks });
    const writer = store.serveWriter(() => {});
    channel = new MessageChannel();
    const port = channel.port2;
    const pipeline = new WriterClient(channel.port1, writer.connect(port), () => new Date());
    /** Makes one request of `side`; resolves once the writer has it queued. */
    request = async (side, n) => {
      // the writer's own listener on its port was added first: this one runs once it queued the request;
      // a main-thread append is handed to the writer in a setImmediate of its queue, which runs before this one
      const queued = side === 'pipeline' ? new Promise((resolve) => port.once('message', resolve)) : new Promise((resolve) => setImmediate(resolve));
      made.set(n, side === 'pipeline' ? pipeline.append([rulesLoaded(n)]) : writer.append([rulesLoaded(n)]));
      await queued;
    };
    await writer.append([rulesLoaded(-1)]);
    started = true;
    // Given a stream of one side's requests, each made while the one before it commits
    await request(streaming, 1000);
    await ended;
    await Promise.all(made.values());
    const loneSeq = (await made.get(LONE)!)[0]!.seq!;
    await writer.close();
    // Then the lone request was committed in the transaction right after the one it came during
    const loneAt = transactions.findIndex((t) => t.seqs.includes(loneSeq));
    expect(transactions[loneAt]?.side).toBe(lone);
    expect(loneAt).toBe(loneCameDuring + 1);
    // and the stream went on after it, every one of its requests committed
    expect(transactions.slice(loneAt + 1).some((t) => t.side === streaming)).toBe(true);
    expect(transactions.filter((t) => t.side === streaming)).toHaveLength(STREAM_LIMIT);
  });
});
