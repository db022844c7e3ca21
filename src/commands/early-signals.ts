/**
 * Signals that reach `serve` before it can act on them. Node's default for SIGHUP, SIGTERM
 * and SIGINT ends the process at once (SIGHUP with exit 129, which systemd's
 * `Restart=on-failure` does not restart), so until `serve` takes them they are caught here
 * and kept, in order. Other commands keep the defaults. No imports: this runs first.
 */

const HELD = ['SIGHUP', 'SIGTERM', 'SIGINT'] as const;
const waiting: NodeJS.Signals[] = [];
let deliver: ((signal: NodeJS.Signals) => void) | null = null;
let installed = false;

function onSignal(signal: NodeJS.Signals): void {
  if (deliver) deliver(signal);
  else waiting.push(signal);
}

/** The command `argv` runs: its first word that is neither an option nor the value of `--db`/`--rules`. */
export function commandOf(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--db' || arg === '--rules') i++;
    else if (arg === '--') return args[i + 1];
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** Catches and keeps SIGHUP, SIGTERM and SIGINT when `argv` runs `serve` (or when `force`). */
export function holdSignalsForServe(argv: readonly string[], force = false): void {
  if (installed || (!force && commandOf(argv) !== 'serve')) return;
  installed = true;
  for (const signal of HELD) process.on(signal, onSignal);
}

/** Hands the signals to `handler`: those kept so far, in order, then each as it comes. */
export function takeSignals(handler: (signal: NodeJS.Signals) => void): void {
  holdSignalsForServe([], true);
  deliver = handler;
  for (const signal of waiting.splice(0)) handler(signal);
}
