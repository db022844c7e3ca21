import { spawnWorker } from '../../spawn-worker.js';
import { DEFAULTS } from '../../config/defaults.js';

/** What the damage check's thread starts with. */
export interface DamageInit {
  /** The live database file. */
  path: string;
  /** Projection tables of `main` to check (`projectionTables`). */
  tables: string[];
  busyTimeoutMs: number;
}

export type DamageReply = { ok: true; damaged: string[] } | { ok: false; message: string };

/** A damage check running on its own thread. */
export interface DamageCheck {
  /** The damaged tables among those asked about; undefined if the thread could not tell (check on the caller's connection then). Never rejects. */
  result: Promise<string[] | undefined>;
  /**
   * Gives up on the answer (a build that failed or was interrupted): `result` resolves to
   * undefined now. The thread is left to finish its read and close its connection (it never
   * keeps the process alive); ended by force mid-read, it would leave the connection open.
   */
  stop(): void;
}

/**
 * `damagedTables` (`repair.ts`: SQLite's `quick_check` of each projection table, which reads
 * all of it) of the database at `path`, on a worker thread with a read-only connection of its
 * own, so that it runs beside the rebuild's fold instead of before the swap (about 0.6 s of
 * one core at 1,000,000 entries). The answer is the same: the live projections do not change
 * while a rebuild runs (serve is stopped; the CLI appends only entries), and a damaged page
 * stays damaged. The thread never keeps the process alive.
 */
export function checkDamageAside(path: string, tables: string[]): DamageCheck {
  let stop = () => {};
  const result = new Promise<string[] | undefined>((resolve) => {
    const init: DamageInit = { path, tables, busyTimeoutMs: DEFAULTS.log.busyTimeoutMs };
    let worker: ReturnType<typeof spawnWorker>;
    try {
      worker = spawnWorker(new URL('./damage-worker.js', import.meta.url), init);
    } catch {
      return resolve(undefined);
    }
    worker.unref();
    worker.once('message', (reply: DamageReply) => resolve(reply.ok ? reply.damaged : undefined));
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined)); // after a reply this changes nothing
    stop = () => resolve(undefined);
  });
  return { result, stop: () => stop() };
}
