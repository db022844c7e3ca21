import type { Logger } from 'pino';
import { takeSignals } from './early-signals.js';

/** What `serve` does on a signal once it runs. */
export interface RunningActions {
  /** SIGHUP: re-read `.env`, the webhook secrets and the rules. */
  reload(): void;
  /** SIGTERM, SIGINT: stop gracefully and exit. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export interface Lifecycle {
  /** The SIGTERM or SIGINT that arrived while starting, if one did: give up the start. */
  readonly stopRequested: NodeJS.Signals | null;
  /** Start has finished: a stop that waited runs now (else a reload that waited); later signals act at once. */
  started(actions: RunningActions): void;
}

/**
 * `serve`'s answer to signals through its life. While starting, a SIGHUP is queued as one
 * reload and a SIGTERM or SIGINT as a stop, both run when start finishes (a stop wins:
 * nothing is reloaded just to stop). While stopping, signals are noted and ignored: the
 * graceful stop has its own time bound.
 */
export function serveLifecycle(logger: Logger): Lifecycle {
  let state: 'starting' | 'running' | 'stopping' = 'starting';
  let stop: NodeJS.Signals | null = null;
  let reloadWaiting = false;
  let actions: RunningActions | undefined;
  const stopNow = (signal: NodeJS.Signals) => {
    state = 'stopping';
    void actions!.stop(signal);
  };
  takeSignals((signal) => {
    if (state === 'stopping') {
      logger.info({ signal }, 'already stopping');
    } else if (signal === 'SIGHUP') {
      if (state === 'running') actions!.reload();
      else if (!reloadWaiting) {
        reloadWaiting = true;
        logger.info({ signal }, 'reload asked for while starting: it runs once started');
      }
    } else if (state === 'running') {
      stopNow(signal);
    } else if (stop === null) {
      stop = signal;
      logger.info({ signal }, 'stop asked for while starting: stopping as soon as start ends');
    }
  });
  return {
    get stopRequested() {
      return stop;
    },
    started(given) {
      actions = given;
      if (stop) return stopNow(stop);
      state = 'running';
      if (reloadWaiting) given.reload();
    },
  };
}
