import cliProgress from 'cli-progress';
import { plural } from '../count.js';
import type { ProgressReport } from '../project/rebuild/scratch.js';

/** A progress bar's life: reports as the work goes, then one ending, `done` or `stop`. */
export interface Progress {
  update(report: ProgressReport): void;
  /** The work finished: the bar is drawn full (100 %, done = total), then cleared. */
  done(): void;
  /**
   * The work ended partway (an error, Ctrl-C), or after `done` (then nothing more): the bar is
   * cleared and one line says where it stopped, `LABEL stopped at 45 % (450/1000 entries)`,
   * never a full bar. Idempotent.
   */
  stop(): void;
}

const silent: Progress = { update: () => {}, done: () => {}, stop: () => {} };

/** What the bar writes to: stderr, or a test's terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * A progress bar on `stream` (entries/s, ETA) when `enabled` (default: stderr is a terminal);
 * nothing at all otherwise, so scripts see only the result. `label`: what the work is
 * (`rebuilding`, `copying`).
 */
export function progressBar(label: string, enabled = process.stderr.isTTY === true, stream: ProgressStream = process.stderr): Progress {
  if (!enabled) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} {entries} | {rate} entries/s | ETA {eta_formatted}`,
      stream,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let last: ProgressReport | undefined;
  let state: 'idle' | 'running' | 'ended' = 'idle';
  const draw = ({ done, total }: ProgressReport) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds).toLocaleString('en-US') : '-';
    const payload = { rate, entries: plural(total, 'entry', 'entries') };
    if (state === 'idle') bar.start(total, done, payload);
    else {
      bar.setTotal(total);
      bar.update(done, payload);
    }
    state = 'running';
  };
  return {
    update(report) {
      if (state === 'ended') return;
      // the log may grow while the work runs: the total is never below what is done
      last = { done: report.done, total: Math.max(report.total, report.done) };
      draw(last);
    },
    done() {
      // drawn full once more only if it is not yet (a second draw of the same value makes the ETA NaN)
      if (state === 'running' && last && last.done < last.total) draw({ done: last.total, total: last.total });
      if (state === 'running') bar.stop();
      state = 'ended';
    },
    stop() {
      if (state === 'ended') return;
      const running = state === 'running';
      state = 'ended';
      if (!running || !last) return;
      bar.stop();
      const percent = last.total > 0 ? Math.floor((last.done / last.total) * 100) : 0;
      stream.write(`${label} stopped at ${percent} % (${last.done}/${last.total} ${plural(last.total, 'entry', 'entries')})\n`);
    },
  };
}
