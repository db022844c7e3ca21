import cliProgress from 'cli-progress';
import { plural } from '../count.js';
import { formatSeconds } from '../rules/duration.js';
import type { ProgressReport } from '../project/rebuild/scratch.js';

/** A progress bar's life: reports as the work goes, then one ending, `done` or `stop`. */
export interface Progress {
  update(report: ProgressReport): void;
  /** The work finished: the bar is drawn full (100 %, done = total), then cleared. */
  done(): void;
  /**
   * The work ended partway (an error, Ctrl-C), or after `done` (then nothing more): the bar is
   * cleared and one line says where it stopped, `LABEL stopped at 45 % (450/1000 entries)`,
   * never a full bar (at most 99 %, even when every entry was read and what follows them did
   * not finish). Idempotent.
   */
  stop(): void;
}

const silent: Progress = { update: () => {}, done: () => {}, stop: () => {} };

/** What the bar writes to: stderr, or a test's terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

/** Shows the cursor and turns line wrapping back on: what a bar hid and turned off while it ran. */
export const RESTORE_TERMINAL = '\x1b[?25h\x1b[?7h';

/** The ETA appears once the work has run this long: before, one batch's pace says nothing of the rest. */
const ESTIMATE_AFTER_MS = 1_000;

/**
 * A progress bar on `stream` (entries/s, ETA) when `enabled` (default: stderr is a terminal);
 * nothing at all otherwise, so scripts see only the result. `label`: what the work is
 * (`rebuilding`, `copying`). `now`: the clock, in ms (tests pass their own). The ETA is left out until the work has run a second (then it is the
 * entries left at the pace so far, as `status` says a span: `ETA 42s`, `ETA 3m 7s`, `ETA 2h 5m 7s`,
 * `formatSeconds`); it reads `ETA 0s` on the full bar.
 *
 * While it runs it hides the cursor and turns off line wrapping; whatever ends the process, those
 * are restored: on exit, and on a SIGINT or SIGTERM that nothing else listens for (the bar then
 * stops, `stop`, and the signal ends the process as it would have). A command that handles the
 * signals itself (`interruptible`) ends the bar with `stop`.
 */
export function progressBar(
  label: string,
  enabled = process.stderr.isTTY === true,
  stream: ProgressStream = process.stderr,
  now: () => number = () => performance.now(),
): Progress {
  if (!enabled) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} {entries} | {rate} entries/s{remaining}`,
      stream,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = now();
  let first: { done: number; at: number } | undefined;
  let last: ProgressReport | undefined;
  let state: 'idle' | 'running' | 'ended' = 'idle';
  const eta = ({ done, total }: ProgressReport, at: number): string => {
    if (done >= total) return ' | ETA 0s';
    if (!first || at - first.at < ESTIMATE_AFTER_MS || done <= first.done) return '';
    const perMs = (done - first.done) / (at - first.at);
    return ` | ETA ${formatSeconds((total - done) / perMs / 1000)}`;
  };
  const draw = (report: ProgressReport) => {
    const at = now();
    first ??= { done: report.done, at };
    const seconds = (at - started) / 1000;
    const rate = seconds > 0 ? Math.round(report.done / seconds).toLocaleString('en-US') : '-';
    const payload = { rate, entries: plural(report.total, 'entry', 'entries'), remaining: eta(report, at) };
    if (state === 'idle') {
      bar.start(report.total, report.done, payload);
      safetyNet.arm();
    } else {
      bar.setTotal(report.total);
      bar.update(report.done, payload);
    }
    state = 'running';
  };
  const end = () => {
    state = 'ended';
    safetyNet.disarm();
    bar.stop();
  };
  const progress: Progress = {
    update(report) {
      if (state === 'ended') return;
      // the log may grow while the work runs: the total is never below what is done
      last = { done: report.done, total: Math.max(report.total, report.done) };
      draw(last);
    },
    done() {
      // drawn full once more only if it is not yet
      if (state === 'running' && last && last.done < last.total) draw({ done: last.total, total: last.total });
      if (state === 'running') end();
      state = 'ended';
    },
    stop() {
      if (state === 'ended') return;
      const running = state === 'running';
      state = 'ended';
      if (!running || !last) return;
      end();
      // stopped short: never 100 %, even when every entry was read and what comes after them was not done
      const percent = last.total > 0 ? Math.min(99, Math.floor((last.done / last.total) * 100)) : 0;
      stream.write(`${label} stopped at ${percent} % (${last.done}/${last.total} ${plural(last.total, 'entry', 'entries')})\n`);
    },
  };
  const safetyNet = terminalSafetyNet(stream, progress);
  return progress;
}

/**
 * While a bar runs: on exit, the terminal restored; on a SIGINT or SIGTERM no other listener
 * handles, the bar stopped and the signal raised again, so the process still ends by it.
 */
function terminalSafetyNet(stream: ProgressStream, progress: Progress): { arm(): void; disarm(): void } {
  const onExit = () => stream.write(RESTORE_TERMINAL);
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return; // the command stops at a safe point and ends the bar
    progress.stop();
    process.kill(process.pid, signal);
  };
  return {
    arm() {
      process.on('exit', onExit);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    disarm() {
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
