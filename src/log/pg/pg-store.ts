import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { EnvironmentError } from '../../os-errors.js';
import { UserError } from '../../errors.js';
import { pgProjections } from '../../project/pg/pg-projections.js';
import { registerPgGauges } from '../../project/pg/pg-gauges.js';
import type { ProjectionReader } from '../../project/reader.js';
import type { RebuildResult } from '../../project/rebuild/rebuild.js';
import type { BuildOptions } from '../../project/rebuild/scratch.js';
import type { VerifyResult } from '../../project/rebuild/verify.js';
import type { Appended, Checkpoint, CommitGroup, Lease, LogReader, LogWriter, ServeWriter } from '../seam.js';
import type { CommitStats } from '../sqlite/commit-queue.js';
import { PgGroupCommit } from './pg-group-commit.js';
import { PgLease } from './pg-lease.js';
import { PgPrivacy } from './pg-privacy.js';
import { PgSealer } from './pg-sealed.js';
import { sealLegacyPg } from './pg-seal-legacy.js';
import { checkKeyring, EDGE_KEYS_SQL, requireKeyring, type Keyring } from '../../privacy/keys.js';
import { Sealing } from '../../privacy/sealing.js';
import { directReads, type OpenStoreOptions, type ServeReads, type Store } from '../store.js';
import type { NewEntry } from '../types.js';
import { redactUrl } from '../location.js';
import { connectClient, createPool, pgError } from './connect.js';
import { migratePg } from './migrations.js';
import { appendGroups, type AppendHooks } from './pg-append.js';
import { PgLogReader } from './pg-reads.js';
import { rebuildPg, verifyPg } from './pg-rebuild.js';

export interface PgStoreOptions extends OpenStoreOptions {
  /** Connections of the pool. (Default: 4) */
  poolSize?: number;
  /** Test hooks of each append transaction. */
  hooks?: AppendHooks;
  /** The keyring itself (tests); wins over `masterKeys`. */
  keyring?: Keyring;
}

/**
 * The PostgreSQL engine behind the seam (`--db postgres://…`, SPEC §13): a pool of connections,
 * the log's reads and appends, and the projections, for a command or for one of several `serve`
 * processes sharing the database. A direct append is its own transaction; `appendBatch` is
 * group commit's (many callers, one transaction).
 */
export class PgStore implements Store, LogWriter {
  readonly log: LogReader;
  readonly projections: ProjectionReader;
  readonly privacy: PgPrivacy;
  /** Its waits are the server's: `OpenStoreOptions.interrupt` is not heeded (see `Store.writesHeedInterrupt`). */
  readonly writesHeedInterrupt = false;
  private closed = false;

  private constructor(
    readonly url: string,
    readonly pool: Pool,
    /** Facts and payloads (README "Personal data"): seals on append, opens on read. */
    readonly sealer: PgSealer,
    private readonly options: PgStoreOptions,
  ) {
    this.log = new PgLogReader(pool, sealer);
    this.projections = pgProjections(pool, sealer);
    this.privacy = new PgPrivacy(this);
  }

  /**
   * Connects, brings the schema to this version, seals and chains a log written before
   * migration 2 (`sealLegacyPg`) and re-wraps data keys of an older master key. Throws
   * `UserError` when `HUSKY_RELAY_MASTER_KEY` (`masterKeys`) is unset (there is no folder beside
   * the database to keep a generated key in) and when `mustExist` and the database holds no log,
   * and `EnvironmentError` naming the database when it cannot be reached.
   */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const sealer = new PgSealer(new Sealing(options.keyring ?? requireKeyring(options.masterKeys, `a PostgreSQL log (${redactUrl(url)})`)));
    const pool = createPool(url, options.poolSize);
    try {
      const client = await connectClient(pool);
      try {
        const tables = (await client.query(`SELECT to_regclass('hr_schema') AS schema, to_regclass('entries') AS entries`)).rows[0];
        if (options.mustExist && tables.schema === null && tables.entries !== null) {
          // as serve and migrate would say: starting serve would not help
          throw new EnvironmentError(`${redactUrl(url)} has an entries table but is not a husky-relay log; point --db at another database`, 'not_a_log');
        }
        if (options.mustExist && tables.schema === null) {
          throw new UserError(`no log at ${redactUrl(url)}: start \`husky-relay serve\` first, or \`husky-relay migrate --to\` it, or point --db (HUSKY_RELAY_DB) at it`);
        }
        await migratePg(client, redactUrl(url));
        if (options.checkKeys) checkKeyring(sealer.sealing.ring, (await client.query<{ wrapped: Buffer }>(EDGE_KEYS_SQL)).rows.map((r) => r.wrapped));
        await sealLegacyPg(client, sealer);
        await sealer.rewrapOld(client);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw pgError(error, url);
    }
    return new PgStore(url, pool, sealer, options);
  }

  get writer(): LogWriter {
    return this;
  }

  /** The clock that stamps `at` on appends. */
  readonly now = (): Date => this.options.now?.() ?? new Date();

  async append(entries: NewEntry[], checkpoint?: Checkpoint): Promise<Appended[]> {
    return (await this.appendBatch([{ entries, checkpoint }]))[0]!;
  }

  /**
   * Several callers' appends in one transaction (group commit): all of them, or none. `durable`
   * false: the commit does not wait for its WAL flush (`underAppendLock`). (Default: true)
   */
  async appendBatch(groups: CommitGroup[], at = this.now().toISOString(), durable = true): Promise<Appended[][]> {
    try {
      return await appendGroups(this.pool, this.sealer, groups, at, this.options.hooks, durable);
    } catch (error) {
      throw pgError(error, this.url, 'write');
    }
  }

  serveWriter(onCommit: (stats: CommitStats) => void): ServeWriter {
    return new PgGroupCommit(this, onCommit);
  }

  lease(name: string, holder: string): Lease {
    return new PgLease(this.pool, name, holder);
  }

  /** The console's reads are this store's own: they wait on the pool, never on the event loop. */
  serveReads(): ServeReads {
    return directReads(this);
  }

  registerGauges(registry: Registry, now?: () => number): void {
    registerPgGauges(registry, this.pool, now);
  }

  rebuild(options?: BuildOptions): Promise<RebuildResult> {
    return rebuildPg(this.pool, this.sealer, options);
  }

  verify(options?: BuildOptions & { limit?: number }): Promise<VerifyResult> {
    return verifyPg(this.pool, this.sealer, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
