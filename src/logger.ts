import { pino, type Logger } from 'pino';
import { DEFAULTS } from './config/defaults.js';

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACT_PATHS = [
  'secret',
  'secrets',
  'token',
  'access_token',
  'authorization',
  '*.secret',
  '*.token',
  '*.access_token',
  '*.authorization',
  'headers.authorization',
  'headers["x-husky-signature"]',
];

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines (on a TTY). */
  pretty?: boolean;
  /** Where lines go; tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? DEFAULTS.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);
  if (options.pretty ?? process.stdout.isTTY) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  // Asynchronous writes: lines logged while a write is in flight go out together, so a line
  // per event does not cost a syscall per event under load, and nothing waits when idle.
  return pino(base, pino.destination({ dest: 1, sync: false }));
}

/** A logger that writes nothing: for a run whose own output says what happened (`replay`'s backfill, the CLI's filter hints). */
export const silentLogger: Logger = pino({ level: 'silent' });
