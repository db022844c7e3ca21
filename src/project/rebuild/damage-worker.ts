import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { damagedTables } from './repair.js';
import type { DamageInit, DamageReply } from './damage-thread.js';

/**
 * The thread of `damage-thread.ts`: `damagedTables` over a read-only connection of its own,
 * one reply, then it ends. Any error (a schema it cannot even read) is sent back as such: the
 * caller then checks on its own connection, as a rebuild always did.
 */
const init = workerData as DamageInit;
let reply: DamageReply;
try {
  const db = new Database(init.path, { readonly: true, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${init.busyTimeoutMs}`);
    db.pragma('cache_size = -2048'); // one pass over each table: a cache would only hold what is done
    reply = { ok: true, damaged: damagedTables(db, init.tables) };
  } finally {
    db.close();
  }
} catch (error) {
  reply = { ok: false, message: String((error as Error)?.message ?? error) };
}
parentPort?.postMessage(reply);
