import type { Logger } from 'pino';
import type { LogWriter } from '../log/seam.js';
import type { Entry, ResumeCode } from '../log/types.js';
import type { SinkOperatorState } from '../project/reader.js';
import type { SinkRuntime } from './sink-runtime.js';

export interface SinkPausesOptions {
  commit: LogWriter;
  logger: Logger;
  /** The dispatcher's clock (ms). */
  now: () => number;
  /** A paused sink probes this often (`DEFAULTS.alerts.probeIntervalMs`). */
  probeMs: number;
  /** Something may be due: the dispatcher looks again. */
  wake: () => void;
}

/**
 * The dispatcher's side of sinks paused for refused credentials (README "When a rule fails at run time"). An attempt pauses
 * its sink itself (`runAttempt`, through the life cycle's `decide`); this keeps the pause in
 * step with the log and resumes it: from the log at start (each paused sink probes at once: its
 * token may have been fixed before a restart), from the log's tail (`sink.paused`,
 * `sink.resumed` appended by anyone: `husky-relay resume` runs in another process), and on a
 * reload that changes the sink's credentials (appends `sink.resumed`).
 */
export class SinkPauses {
  constructor(private readonly o: SinkPausesOptions) {}

  /** The sinks the log says are paused, as the dispatcher starts. */
  load(states: Record<string, SinkOperatorState>, runtime: (name: string) => SinkRuntime): void {
    const now = this.o.now();
    for (const [name, state] of Object.entries(states)) {
      if (state.paused) runtime(name).pauseFor(state.paused.code, state.paused.reason, state.paused.at, now);
    }
  }

  /** A `sink.paused` or `sink.resumed` from the log's tail; other entries change nothing here. */
  apply(entry: Entry, runtime: (name: string) => SinkRuntime): void {
    if (entry.type === 'sink.paused') {
      const now = this.o.now();
      runtime(entry.data.sink).pauseFor(entry.data.code, entry.data.reason, new Date(now).toISOString(), now + this.o.probeMs);
    } else if (entry.type === 'sink.resumed') {
      const rt = runtime(entry.data.sink);
      if (!rt.pause) return;
      rt.resume();
      this.o.logger.info({ sink: rt.name, code: entry.data.code }, `sink "${rt.name}" resumed: ${entry.data.reason}`);
      this.o.wake();
    }
  }

  /** The sink's config in force now: a paused sink whose credentials changed resumes. */
  reconfigured(rt: SinkRuntime, credentials: string, enabled: boolean): void {
    const changed = rt.credentials !== undefined && rt.credentials !== credentials;
    rt.credentials = credentials;
    if (changed && enabled && rt.pause) this.resume(rt, 'reload', 'a reload changed its credentials');
  }

  /** An attempt paused its sink (its `sink.paused` is being recorded): the operator's line. */
  paused(rt: SinkRuntime): void {
    const minutes = Math.round(this.o.probeMs / 60_000);
    this.o.logger.error(
      { sink: rt.name, code: rt.pause?.code, reason: rt.pause?.reason },
      `sink "${rt.name}" is paused: its credentials were refused; its deliveries wait. Fix them and reload, or run \`husky-relay resume ${rt.name}\` (a probe attempt every ${minutes} min resumes it once they work)`,
    );
  }

  /** A probe attempt succeeded: its `sink.resumed` is being recorded with it. */
  probed(rt: SinkRuntime): void {
    this.o.logger.info({ sink: rt.name, code: 'probe' }, `sink "${rt.name}" resumed: a probe attempt succeeded`);
  }

  private resume(rt: SinkRuntime, code: ResumeCode, reason: string): void {
    rt.resume();
    this.o.logger.info({ sink: rt.name, code }, `sink "${rt.name}" resumed: ${reason}`);
    this.o.commit.append([{ type: 'sink.resumed', data: { sink: rt.name, reason, code } }]).catch((error: Error) => {
      // delivery goes on; the log still says paused, so after a restart the sink probes at once
      this.o.logger.error({ sink: rt.name, err: error.message }, 'could not record sink.resumed');
    });
    this.o.wake();
  }
}
