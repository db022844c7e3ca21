import cliProgress from 'cli-progress';
import type { ProgressReport } from '../project/rebuild/scratch.js';

export interface Progress {
  update(report: ProgressReport): void;
  stop(): void;
}

const silent: Progress = { update: () => {}, stop: () => {} };

/**
 * A progress bar on stderr (entries/s, ETA) when stderr is a terminal; nothing at all when it
 * is piped or redirected, so scripts see only the result.
 */
export function progressBar(label: string, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} entries | {rate} entries/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let running = false;
  return {
    update({ done, total }) {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? Math.round(done / seconds).toLocaleString('en-US') : '-';
      if (!running) {
        bar.start(total, done, { rate });
        running = true;
      } else {
        bar.setTotal(Math.max(total, done));
        bar.update(done, { rate });
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
