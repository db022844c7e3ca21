import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { isPostgresUrl, redactUrl } from '../log/location.js';
import { acquireServeLock, DatabaseHeldError } from '../log/sqlite/serve-lock.js';
import { copyLog, openStore, type CopyResult, type Store } from '../log/store.js';
import { ROUTER_CHECKPOINT } from '../route/router.js';
import { globalsOf } from './globals.js';
import { masterKeyFileFor } from '../privacy/keys.js';
import { progressBar } from './progress.js';
import { count } from '../count.js';
import { openInterruptible } from './interrupt.js';

/**
 * `husky-relay migrate --to postgres://…` (SPEC §13): copies the SQLite log at `--db` into an
 * empty PostgreSQL database, entries as stored (facts, hashes, sealed payloads, data keys), and
 * projects it there; then verifies the copy: the same entries (a digest of every one, in order,
 * payloads opened), the same `status` (chain head included) and deliveries, and its hash chain.
 * Holds the SQLite log's serve lock meanwhile, so no `serve` appends behind the copy's back.
 */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('copy the SQLite log (--db) into an empty PostgreSQL database, then verify the copy')
    .requiredOption('--to <url>', 'the PostgreSQL database: postgres://USER@HOST/DB')
    .action(async (opts: { to: string }) => {
      const g = globalsOf(program);
      if (isPostgresUrl(g.dbPath)) throw new UserError('migrate: --db is already a PostgreSQL URL; migrate copies a SQLite log (--db PATH) into PostgreSQL');
      // what is wrong with the command line first, then with the source, then serve, then the key: a user
      // who typed a file path after --to is not sent to find a master key for nothing
      if (!isPostgresUrl(opts.to)) {
        throw new UserError(`migrate: --to ${JSON.stringify(opts.to)} is not a PostgreSQL URL (postgres://USER@HOST/DB); to move a SQLite log to another file or machine, copy it with deploy/backup.sh (README "Deployment on a VM", step 9, Backups)`, 'not_postgres');
      }
      // Ctrl-C taken before the open: one while it waits (a lock, a migration) ends with a line, not exit 130
      const { stop, store: source } = await openInterruptible(g);
      // the serve lock before the key: a user whose serve runs is told to stop it before being sent to find a key
      let lock: ReturnType<typeof acquireServeLock>;
      try {
        lock = acquireServeLock(g.dbPath, 'migrate');
      } catch (error) {
        stop.done();
        await source.close();
        if (error instanceof DatabaseHeldError) throw new UserError(`migrate: ${error.holder.description} holds ${g.dbPath}; stop it first, so that nothing is appended behind the copy`, 'database_held');
        throw error;
      }
      const bar = progressBar('copying');
      let copied: CopyResult | undefined; // once set, the copy is committed there
      try {
        if (await stop.requested()) {
          throw new UserError(`migrate: interrupted before the copy began; nothing was copied to ${redactUrl(opts.to)}, and ${g.dbPath} is unchanged (serve can start on it)`, 'interrupted');
        }
        if (!g.masterKeys?.trim()) {
          throw new UserError(
            `migrate: HUSKY_RELAY_MASTER_KEY is required for a PostgreSQL log; set it to this log's master key, the content of ${masterKeyFileFor(g.dbPath)} unless you set one (README "Personal data")`,
            'master_key_required',
          );
        }
        copied = await copyLog(source, opts.to, [ROUTER_CHECKPOINT], (done, total) => bar.update({ done, total }), g.masterKeys, stop.signal);
        bar.done();
        const target = await openStore(opts.to, { mustExist: true, masterKeys: g.masterKeys });
        try {
          const problems = await compare(source, target, stop.signal);
          if (problems.length > 0) {
            throw new UserError(
              `migrate: the copy in ${redactUrl(opts.to)} differs from ${g.dbPath}: ${problems.join('; ')}; the copy is left there to look at: drop its tables (or the database) before migrating again, and keep running on SQLite`,
              'copy_differs',
            );
          }
        } finally {
          await target.close();
        }
        process.stdout.write(`copied ${count(copied.entries, 'entry', 'entries', true)} (through seq ${copied.last_seq}) to ${redactUrl(opts.to)} in ${copied.seconds.toFixed(1)} s; projections rebuilt; verified: same entries, status, deliveries and hash chain\n`);
      } catch (error) {
        if (!stop.signal.aborted || error instanceof UserError) throw error;
        const to = redactUrl(opts.to);
        throw new UserError(
          copied
            ? `migrate: interrupted while verifying the copy; ${to} holds the whole copy, not verified: drop its tables (or the database) before migrating again, and keep running on SQLite meanwhile (${g.dbPath} is unchanged)`
            : `migrate: interrupted; nothing was copied (the import into ${to} rolled back), and ${g.dbPath} is unchanged (serve can start on it)`,
          'interrupted',
        );
      } finally {
        bar.stop();
        stop.done();
        lock.release();
        await source.close();
      }
    });
}

/** How the target differs from the source (empty when it does not): entries, status, deliveries. */
async function compare(source: Store, target: Store, signal: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  const [a, b] = await Promise.all([digest(source, signal), digest(target, signal)]);
  if (a.count !== b.count || a.hash !== b.hash) problems.push(`entries: ${a.count} (sha256 ${a.hash.slice(0, 12)}) here, ${b.count} (sha256 ${b.hash.slice(0, 12)}) there`);
  // status includes the chain's head: the copy keeps every hash (README "Personal data")
  // text columns are stored alike on both engines (log/text.ts), so the projections compare as they are
  const status = async (store: Store) => JSON.stringify(await store.projections.status(null));
  if ((await status(source)) !== (await status(target))) problems.push('status differs');
  const chain = await target.privacy.verifyChain();
  if (!chain.ok) problems.push(`the hash chain breaks at entry ${chain.seq}: ${chain.reason}`);
  if (JSON.stringify(await source.projections.deliveries()) !== JSON.stringify(await target.projections.deliveries())) problems.push('deliveries differ');
  return problems;
}

/** A SHA-256 over every entry (seq, type, at, data) in seq order, and how many; `signal` (Ctrl-C) stops it between batches. */
async function digest(store: Store, signal: AbortSignal): Promise<{ count: number; hash: string }> {
  const hash = createHash('sha256');
  let count = 0;
  for (let after = 0; ; ) {
    signal.throwIfAborted();
    const batch = await store.log.read(after, { limit: 5_000 });
    if (batch.length === 0) break;
    for (const e of batch) hash.update(`${JSON.stringify([e.seq, e.type, e.at, e.data])}\n`);
    count += batch.length;
    after = batch.at(-1)!.seq;
  }
  return { count, hash: hash.digest('hex') };
}
