import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { pageReader, type PagesInit, type PagesMessage } from './log-pages.js';

/**
 * The thread of `log-pages.ts`: reads the log's pages in one snapshot and posts them, at most
 * as many ahead of the fold as it is allowed (slot 0 of `control`, which the fold adds to as it
 * takes pages); slot 1 set means stop. Its connection is closed before its last message, and
 * any error (a damaged log) is posted as such.
 */
const init = workerData as PagesInit;
const slots = new Int32Array(init.control);
const post = (m: PagesMessage) => parentPort!.postMessage(m);
const stopped = () => Atomics.load(slots, 1) !== 0;
let db: Database.Database | undefined;
try {
  db = new Database(init.path, { readonly: true, fileMustExist: true });
  const reader = pageReader(db, init.pageRows);
  post({ total: reader.total });
  for (;;) {
    // a notify can come just before a wait: each wait is short, and the slots are read again
    for (let credit = Atomics.load(slots, 0); credit <= 0 && !stopped(); credit = Atomics.load(slots, 0)) Atomics.wait(slots, 0, credit, 50);
    if (stopped()) break;
    Atomics.sub(slots, 0, 1);
    const page = reader.page();
    if (page === undefined) break;
    post({ page });
  }
  reader.end();
  db.close();
  if (!stopped()) post({ done: true });
} catch (error) {
  if (db?.open) db.close();
  post({ error: String((error as Error)?.message ?? error), code: (error as { code?: string }).code });
}
