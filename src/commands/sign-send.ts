import { readFileSync } from 'node:fs';
import { DEFAULTS } from '../config/defaults.js';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { heldBy } from '../log/sqlite/serve-lock.js';
import { resolveSecrets } from '../receive/secrets.js';
import { sign } from '../receive/verify-signature.js';
import { globalsOf, type Globals } from './globals.js';
import { printableLines } from './table.js';
import { formatSeconds, parseDuration } from '../rules/duration.js';

function readFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UserError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function firstSecret(dbPath: string, envValue: string | undefined): string {
  const resolved = resolveSecrets(envValue, dbPath, false);
  if (!resolved) {
    throw new UserError(
      'no webhook secret: set HUSKY_WEBHOOK_SECRET, or run `husky-relay serve` once to generate one beside the database',
    );
  }
  return resolved.secrets[0]!;
}

/**
 * The longest `send --timeout` (5 min): Node's `fetch` (undici) stops waiting for an answer's
 * headers after 300 s on its own (`headersTimeout`), so a longer timeout would not be honoured
 * and its error would read as a connection that failed.
 */
const MAX_TIMEOUT_MS = 300_000;

/**
 * `send --timeout`: a duration as the rules file writes one (`500ms`, `30s`, `2m`, `1h`), more
 * than 0 and at most 5m, in ms. Throws a one-line `UserError` naming `--timeout` otherwise.
 */
export function parseSendTimeout(value: string): number {
  const ms = parseDuration(value.trim());
  if (ms === null || ms < 1) throw new UserError(`--timeout: "${value}" is not a duration like 500ms, 30s or 2m`);
  if (ms > MAX_TIMEOUT_MS) throw new UserError(`--timeout: ${value.trim()} is over the longest timeout, 5m`);
  return ms;
}

/** A timeout as `--timeout` spells it: `500ms`, `1500ms`, `30s`, `2m`, `1h`. */
const spoken = (ms: number): string => (ms % 1000 === 0 ? formatSeconds(ms / 1000).replace(/ /g, '') : `${ms}ms`);

/** Whether `error` is the abort of `AbortSignal.timeout` (thrown by `fetch` or by reading the body). */
const timedOut = (error: unknown): boolean => (error as Error | undefined)?.name === 'TimeoutError';

/**
 * Where `send` posts by default: the `serve` that holds this database, at the URL it wrote in
 * its pid file once listening (whatever port `--port`, `PORT` or `.env` gave it); else
 * `PORT` and `HOST` from the environment and `.env`, as `serve` would read them.
 */
export function defaultWebhookUrl(g: Globals): string {
  const serving = heldBy(g.dbPath)?.url;
  if (serving) return `${serving}/webhooks/husky`;
  const host = g.host;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${reachable}:${g.port}/webhooks/husky`;
}

export function registerSignSend(program: Command): void {
  program
    .command('sign')
    .description("print the X-Husky-Signature of FILE's exact bytes with the first webhook secret")
    .argument('<file>', 'the event body to sign')
    .action((file: string) => {
      const g = globalsOf(program);
      process.stdout.write(`${sign(readFile(file), firstSecret(g.dbPath, g.webhookSecret))}\n`);
    });

  program
    .command('send')
    .description('sign FILE and POST it, as HuskyVoice would (the curl example of its docs, built in)')
    .argument('<file>', 'the event body to send')
    .option('--url <url>', 'where to send it (default: the serve running on --db, else PORT and HOST)')
    .option('--timeout <duration>', `give up when the whole answer has not come within this (500ms, 30s, 2m; default ${DEFAULTS.send.timeoutMs / 1000}s)`, parseSendTimeout)
    .action(async (file: string, opts: { url?: string; timeout?: number }) => {
      const g = globalsOf(program);
      const body = readFile(file);
      const signature = sign(body, firstSecret(g.dbPath, g.webhookSecret));
      const url = opts.url ?? defaultWebhookUrl(g);
      const timeoutMs = opts.timeout ?? DEFAULTS.send.timeoutMs;
      const noAnswer = () => new UserError(`timed out: ${url} gave no answer within ${spoken(timeoutMs)} (--timeout)`);
      // one bound for connecting, the status line and the whole body: a server may send headers and then nothing
      const signal = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-husky-signature': signature }, body, signal });
      } catch (error) {
        if (timedOut(error)) throw noAnswer();
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        throw new UserError(`cannot reach ${url} (${cause}): is \`husky-relay serve\` running?`);
      }
      const text = await response.text().catch((error: unknown) => {
        throw timedOut(error) ? noAnswer() : error;
      });
      // the answer may quote the event (its id) or be any server's page: escaped, as data is
      process.stdout.write(`${response.status} ${printableLines(text)}\n`);
      if (!response.ok) process.exitCode = 1;
    });
}
