import type { LogReader } from '../log/seam.js';
import type { Entry } from '../log/types.js';
import type { OpenDelivery, ProjectionReader } from '../project/reader.js';
import { DueSchedule, type ScheduledDelivery } from './schedule.js';
import type { SinkPauses } from './sink-pauses.js';
import type { SinkRuntime } from './sink-runtime.js';

/** The entry types that change what is due. */
const DELIVERY_TYPES = ['delivery.planned', 'delivery.attempted', 'delivery.dead', 'delivery.retried', 'sink.paused', 'sink.resumed'];
/** Entries of the tail read at once. */
const TAIL_BATCH = 1_000;

export interface DueIndexOptions {
  /** The log's tail: what was planned, attempted, re-driven, paused or resumed since the last look. */
  reader: LogReader;
  /** The open deliveries and paused sinks at start, and re-driven deliveries. */
  projections: ProjectionReader;
  pauses: SinkPauses;
  /** The dispatcher's runtime of a sink, made on first use. */
  runtime: (name: string) => SinkRuntime;
}

/**
 * What the dispatcher knows of the log: the due index (`DueSchedule`), loaded once from the
 * projection and then kept up to date from the log's tail, and the sinks' pauses (README "When a rule fails at run time"),
 * kept the same way. A look costs what the new entries cost, never a scan of every open
 * delivery.
 */
export class DueIndex {
  readonly schedule = new DueSchedule();
  /** How far the log's tail has been read; null until the index is loaded. */
  private position: number | null = null;

  constructor(private readonly o: DueIndexOptions) {}

  /** Loads the index at the first call; then applies what the log's tail holds since. */
  async catchUp(): Promise<void> {
    if (this.position === null) {
      const { deliveries, throughSeq } = await this.o.projections.openDeliveries();
      for (const d of deliveries) this.schedule.put(scheduled(d));
      // read after the snapshot: pauses and resumes since are applied again from the tail, to the same end
      this.o.pauses.load(await this.o.projections.sinkStates(), this.o.runtime);
      this.position = throughSeq;
    }
    for (;;) {
      const entries = await this.o.reader.read(this.position, { types: DELIVERY_TYPES, limit: TAIL_BATCH, facts: true });
      for (const entry of entries) await this.apply(entry);
      if (entries.length > 0) this.position = entries[entries.length - 1]!.seq;
      if (entries.length < TAIL_BATCH) return;
    }
  }

  /** What one entry changes in the index (README "The log"'s delivery states) and in the sinks' pauses. */
  private async apply(entry: Entry): Promise<void> {
    switch (entry.type) {
      case 'delivery.planned': {
        const d = entry.data;
        this.schedule.put({ delivery_id: d.delivery_id, seq: entry.seq, sink: d.sink, order_key: d.order_key, due: 0 });
        return;
      }
      case 'delivery.attempted': {
        const d = entry.data;
        const held = this.schedule.get(d.delivery_id);
        if (!held) {
          // an attempt that ended after its delivery was made dead elsewhere (an erasure during it)
          // leaves it open again in the projection (retrying, or waiting for its paused sink)
          if (d.outcome === 'failed' && (d.retry_at !== null || d.paused)) await this.reopen(d.delivery_id);
          return;
        }
        if (d.outcome === 'succeeded') this.schedule.remove(d.delivery_id);
        else if (d.retry_at !== null) this.schedule.put({ ...held, due: Date.parse(d.retry_at) });
        else if (d.paused) this.schedule.put({ ...held, due: 0 }); // waits for its sink to resume
        return; // failed without a retry: its dead letter follows
      }
      case 'delivery.dead':
        this.schedule.remove(entry.data.delivery_id);
        return;
      case 'delivery.retried':
        await this.reopen(entry.data.delivery_id);
        return;
      case 'sink.paused':
      case 'sink.resumed':
        this.o.pauses.apply(entry, this.o.runtime);
        return;
      default:
        return;
    }
  }

  /** Holds the delivery again as the projection has it, if it is open there. */
  private async reopen(deliveryId: string): Promise<void> {
    const open = await this.o.projections.openDelivery(deliveryId);
    if (open) this.schedule.put(scheduled(open));
  }
}

function scheduled(d: OpenDelivery): ScheduledDelivery {
  return { delivery_id: d.delivery_id, seq: d.seq, sink: d.sink, order_key: d.order_key, due: d.next_attempt_at ? Date.parse(d.next_attempt_at) : 0 };
}
