import { parentPort, workerData } from 'node:worker_threads';
import { GAUGE_SQL, UNROUTED_SQL } from '../../project/gauges.js';
import { SqliteStore } from './sqlite-store.js';
import { namingDamagedEntries } from './damage.js';
import { DamagedEntryError } from '../damaged-entry.js';
import { GATE_HELD, type ReadError, type ReadReply, type ReadRequest, type ReaderInit } from './reader-protocol.js';

/**
 * The read thread of `serve` on SQLite (`read-thread.ts`): the console's pages, its chart, live
 * updates and the state gauges read here, one read at a time on a connection of this thread's
 * own, so a heavy page never holds the event loop that acknowledges webhooks. The connection is
 * `query_only`: nothing read here can write the log, whatever a bug asks of it. Reads run in
 * the order posted; a slow one delays the reads behind it, never a webhook.
 */
const init = workerData as ReaderInit;
const port = parentPort!;
const gate = init.gate ? new Int32Array(init.gate) : undefined;

// the HTTP thread opened (migrated, sealed) the log before it started this thread: opening it
// again here writes nothing, and from then on nothing can. Started late (at the first read, again
// after a failure), it opens on the WAL the writer watches only; if it cannot open, it says why
// and ends (nothing keeps it alive)
const store = open();
if (store) serve(store);

function open(): SqliteStore | undefined {
  try {
    const lateOpen = init.wal && { watched: init.wal, by: 'the read thread' };
    const opened = new SqliteStore(init.path, { busyTimeoutMs: init.busyTimeoutMs, masterKeys: init.masterKeys, lateOpen });
    opened.sqlite.db.pragma('query_only = ON');
    return opened;
  } catch (error) {
    port.postMessage({ kind: 'failed', error: toReadError(error) } satisfies ReadReply);
    return undefined;
  }
}

function serve(store: SqliteStore): void {
  const bySink = store.sqlite.db.prepare(GAUGE_SQL.bySink);
  const oldest = store.sqlite.db.prepare(GAUGE_SQL.oldest);
  const unrouted = store.sqlite.db.prepare(UNROUTED_SQL);
  const gauges = {
    bySink: () => bySink.all(),
    oldestOpenAt: () => (oldest.get() as { at: string | null }).at,
    unrouted: () => unrouted.get(),
  };
  port.on('message', (request: ReadRequest) => {
    if (request.kind === 'crash') {
      setImmediate(() => {
        throw new Error('read thread: crash requested (test hook)');
      });
      return;
    }
    void answer(store, gauges, request);
  });
  port.on('close', () => store.sqlite.close());
  port.postMessage({ kind: 'ready' } satisfies ReadReply);
}

async function answer(store: SqliteStore, gauges: object, request: Extract<ReadRequest, { kind: 'read' }>): Promise<void> {
  if (gate) {
    Atomics.add(gate, 1, 1);
    Atomics.notify(gate, 1);
    while (Atomics.load(gate, 0) === GATE_HELD) Atomics.wait(gate, 0, GATE_HELD);
  }
  let reply: ReadReply;
  try {
    const target = (request.target === 'entries' ? store.log : request.target === 'projections' ? store.projections : gauges) as unknown as Record<string, (...args: unknown[]) => unknown>;
    reply = { kind: 'answered', id: request.id, ok: true, value: await target[request.method]!(...request.args) };
  } catch (error) {
    // SQLite's `malformed JSON` is a damaged entry: named by seq here, where the log is open
    reply = { kind: 'answered', id: request.id, ok: false, error: toReadError(namingDamagedEntries(error, store.sqlite.db)) };
  }
  port.postMessage(reply);
}

function toReadError(error: unknown): ReadError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  const damaged = error instanceof DamagedEntryError && { seqs: error.seqs, what: error.what };
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...damaged };
}
