import type { Logger } from 'pino';
import type { LogWriter } from '../log/seam.js';
import type { NewEntry } from '../log/types.js';
import type { ProjectionReader } from '../project/reader.js';
import type { LoadedRules } from '../rules/types.js';
import { count } from '../count.js';

export interface StaleWatchOptions {
  projections: Pick<ProjectionReader, 'sinkStates' | 'oldestOpen' | 'openCount'>;
  commit: LogWriter;
  logger: Logger;
  /** The pipeline's clock (ms): the same clock that stamps `planned_at`. */
  now: () => number;
}

/**
 * Stale work (README "When a rule fails at run time"): when a sink's oldest open delivery (the one
 * waiting longest of those pending or retrying: since it was planned, or last re-driven) has
 * waited longer than `alerts.pending_after`, `pending.stale` is appended, once; when it
 * no longer is (delivered, dead, or none open), `pending.cleared`, once. Which sinks are stale
 * is read from the projections at the first look and then kept here: this is the only
 * appender of those entries. A look costs one index seek per sink; the pipeline makes one per
 * poll. Paused and disabled sinks go stale like any other: their work waits all the same.
 */
export class StaleWatch {
  private rules: LoadedRules | null = null;
  /** Sinks stale now, as the log says; null until the first look has read them. */
  private stale: Set<string> | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly o: StaleWatchOptions) {}

  /** The rules in force: their sinks are watched, against their `alerts.pending_after`. */
  setRules(rules: LoadedRules): void {
    this.rules = rules;
  }

  /** One look, unless one is running (then that one). Never rejects: a failure is logged and the next look tries again. */
  check(): Promise<void> {
    this.running ??= this.look()
      .catch((error: Error) => this.o.logger.error({ err: error.message }, 'could not look for stale deliveries; will look again'))
      .finally(() => (this.running = null));
    return this.running;
  }

  /** Looks no more; resolves once a look in progress has ended. */
  async stop(): Promise<void> {
    this.rules = null;
    await this.running;
  }

  private async look(): Promise<void> {
    const rules = this.rules;
    if (!rules) return;
    const { projections } = this.o;
    const stale = (this.stale ??= new Set(Object.entries(await projections.sinkStates()).flatMap(([sink, s]) => (s.stale ? [sink] : []))));
    const now = this.o.now();
    const entries: NewEntry[] = [];
    // the declared sinks, and any still stale that a reload took away (so they can clear)
    for (const sink of new Set([...Object.keys(rules.sinks), ...stale])) {
      const oldest = await projections.oldestOpen(sink);
      const isStale = oldest !== null && now - Date.parse(oldest.open_since) > rules.alerts.pending_after_ms;
      if (isStale === stale.has(sink)) continue;
      const count = await projections.openCount(sink);
      entries.push(
        isStale
          ? { type: 'pending.stale', data: { sink, oldest_pending_at: oldest.open_since, count, delivery_id: oldest.delivery_id, pending_after: rules.alerts.pending_after } }
          : { type: 'pending.cleared', data: { sink, oldest_pending_at: oldest?.open_since ?? null, count } },
      );
    }
    if (entries.length === 0) return;
    await this.o.commit.append(entries);
    for (const entry of entries) {
      if (entry.type === 'pending.stale') {
        stale.add(entry.data.sink);
        const d = entry.data;
        this.o.logger.warn({ sink: d.sink, count: d.count, oldest_pending_at: d.oldest_pending_at }, `sink "${d.sink}": ${count(d.count, 'delivery', 'deliveries')} waiting, the oldest since ${d.oldest_pending_at} (over ${d.pending_after})`);
      } else if (entry.type === 'pending.cleared') {
        stale.delete(entry.data.sink);
        this.o.logger.info({ sink: entry.data.sink, count: entry.data.count }, `sink "${entry.data.sink}": no delivery waits longer than alerts.pending_after any more`);
      }
    }
  }
}
