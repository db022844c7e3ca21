import type { MessagePort } from 'node:worker_threads';
import type { SinkPause } from '../delivery/dispatcher.js';
import type { ResultLink } from '../sinks/kind.js';
import type { SinkEnvironment } from '../sinks/types.js';

/**
 * The messages between the thread that answers HTTP and the pipeline thread (routing,
 * delivery and the sinks' SDKs). Plain data only: what crosses is copied.
 */

/** What the pipeline thread is started with (`workerData`). */
export interface PipelineInit {
  dbPath: string;
  busyTimeoutMs?: number;
  /** `HUSKY_RELAY_MASTER_KEY` as set; unset: the `master-key` file beside the database. */
  masterKeys?: string;
  rulesPath: string;
  /** The rules file that takes over from `rulesPath` when it appears. */
  rulesPreferredPath?: string;
  /** The variables `${VAR}` in the rules file may name. */
  env: Record<string, string | undefined>;
  sinkEnv: SinkEnvironment;
  /** The pino level of its log lines (they are written through the HTTP thread's logger). */
  logLevel: string;
  pollMs?: number;
  /** A `SharedClock`'s memory (tests); absent: the system clock. */
  clock?: SharedArrayBuffer;
  /** A fixed value in [0, 1) for the backoff's jitter (tests); absent: `Math.random`. */
  random?: number;
  /** Its own channel to the writer thread (transferred). */
  writerPort: MessagePort;
  /** The writer's idle flag (see `WriterInit.state`). */
  writerState: SharedArrayBuffer;
  /**
   * SQLite: the WAL file the writer watches (`ServeWriter.watchedWal`); the thread opens the log
   * on that file only, or fails to start with code `WAL_LOST`.
   */
  watchedWal?: SharedArrayBuffer;
}

/** The sinks of the rules in force, as `status` needs them (`LoadedRules` without what cannot be copied). */
export interface RulesView {
  path: string;
  hash: string;
  /** `link`: where the console links a delivery's result (the kind's `resultLink`), when the config says. */
  sinks: Record<string, { enabled: boolean; disabled_reason?: string; link?: ResultLink }>;
}

/** From the HTTP thread. Requests with an `id` are answered with an `answer` of the same id. */
export type ToPipeline =
  | { kind: 'reload'; id: number; reason: string; env?: Record<string, string | undefined> }
  | { kind: 'metrics'; id: number }
  /** Look for work now (a test moved its clock); not answered. */
  | { kind: 'wake'; id: number }
  | { kind: 'paused'; id: number }
  | { kind: 'unwatch'; id: number }
  | { kind: 'crash'; id: number }
  | { kind: 'close'; id: number; graceMs: number };

/** What each request is answered with. */
export interface Answers {
  reload: boolean;
  metrics: string;
  wake: null;
  paused: Record<string, SinkPause>;
  unwatch: null;
  crash: null;
  close: null;
}

/** To the HTTP thread. */
export type FromPipeline =
  /** Started: the first load of the rules has been tried. */
  | { kind: 'started'; rules: RulesView | null }
  /**
   * It could not start (the log cannot be read, say); it ends after this. `user`: the message is
   * one a user can act on (a damaged or locked file: `EnvironmentError`, exit 1), not a bug of ours.
   */
  | { kind: 'failed'; message: string; code: string; user: boolean }
  /** The rules in force changed (a reload took effect). */
  | { kind: 'rules'; rules: RulesView }
  /** Log lines, JSON as pino writes them. */
  | { kind: 'lines'; lines: string[] }
  | { kind: 'answer'; id: number; ok: true; value: unknown }
  | { kind: 'answer'; id: number; ok: false; message: string };
