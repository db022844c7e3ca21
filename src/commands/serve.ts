import { existsSync, unlinkSync } from 'node:fs';
import { parseRetention } from '../privacy/retention.js';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { dbFileOf } from '../log/db-files.js';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { adoptEnv, dotEnvNow, parsePort, resolveConfig } from '../config/resolve.js';
import { DEFAULTS } from '../config/defaults.js';
import { UserError } from '../errors.js';
import { openDatabase } from '../log/sqlite/open.js';
import { isPostgresUrl, redactUrl } from '../log/location.js';
import { exposure } from '../log/private-files.js';
import { acquireServeLock, DatabaseHeldError, heldBy } from '../log/sqlite/serve-lock.js';
import { createLogger } from '../logger.js';
import { listenError } from '../os-errors.js';
import { resolveSecrets, secretsFromEnv } from '../receive/secrets.js';
import { removeOrphanScratch } from '../project/rebuild/scratch.js';
import { globalsOf, type Globals } from './globals.js';
import { serveLifecycle } from './serve-lifecycle.js';
import { resolveUiToken, type UiToken } from '../console/token.js';

/**
 * `--max-body`: bytes, KiB or MiB (`65536`, `512KiB`, `2MiB`), from `DEFAULTS.http.minBodyLimitBytes`
 * (1 KiB: a HuskyVoice event is larger) to `DEFAULTS.http.maxBodyLimitBytes` (32 MiB: what keeps
 * the bytes being read bounded, see `maxReadingBytes`). Throws a `UserError` saying which bound.
 */
function parseBytes(value: string): number {
  const match = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(value.trim());
  if (!match) throw new UserError(`--max-body: "${value}" is not a size (e.g. 1MiB, 512KiB, 65536)`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const factor = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : 1;
  const bytes = Number(match[1]) * factor;
  const { minBodyLimitBytes: min, maxBodyLimitBytes: max } = DEFAULTS.http;
  if (bytes < min) throw new UserError(`--max-body: ${value} is below the smallest limit, ${min / 1024} KiB (every HuskyVoice event is larger)`);
  if (bytes > max) {
    throw new UserError(`--max-body: ${value} is over the largest limit, ${max / 1024 / 1024} MiB (so that slow uploads cannot hold more than ${DEFAULTS.http.maxReadingBytes / 1024 / 1024} MiB)`);
  }
  return bytes;
}

interface ServeOptions {
  port?: number;
  host?: string;
  maxBody?: number;
  /** False with `--no-ui`. */
  ui?: boolean;
  retention?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('receive webhooks, route them through the rules and deliver them, in one process')
    .option('--port <n>', 'port to listen on (env PORT)', (v) => parsePort(v))
    .option('--host <h>', 'address to listen on (env HOST)')
    .option('--max-body <size>', 'largest body accepted (default 1MiB)', parseBytes)
    .option('--no-ui', 'do not serve the web console under /ui/')
    .option('--retention <duration>', "erase calls whose last event is older than this (90d, 12h), at least hourly (env HUSKY_RELAY_RETENTION; default off)")
    .action((opts: ServeOptions) => serve(globalsOf(program), opts));
}

/**
 * Starts the relay. Everything that can be wrong with the machine (secrets, the database
 * file, a holder, the port) is checked before anything is created, so a refused start
 * leaves nothing behind; then the lock is taken and the relay started; the lock is released
 * on any failure.
 */
async function serve(g: Globals, opts: ServeOptions): Promise<void> {
  const logger = createLogger({ level: g.logLevel });
  const lifecycle = serveLifecycle(logger);
  if (g.rulesWarning) logger.warn(g.rulesWarning);
  const retention = opts.retention ?? g.retention;
  const retentionMs = retention === undefined ? undefined : parseRetention(retention, opts.retention ? '--retention' : 'HUSKY_RELAY_RETENTION');
  const port = opts.port ?? g.port;
  const host = opts.host ?? g.host;

  const fromEnv = secretsFromEnv(g.webhookSecret); // a bad HUSKY_WEBHOOK_SECRET is refused before anything is made
  if (opts.ui !== false && g.uiToken !== undefined) resolveUiToken(g.uiToken, g.dbPath); // and a short HUSKY_RELAY_UI_TOKEN
  const shared = isPostgresUrl(g.dbPath);
  if (shared && !fromEnv) {
    throw new UserError('with the log in PostgreSQL (--db postgres://…), set HUSKY_WEBHOOK_SECRET: every relay sharing the log must accept the same secret, and there is no folder beside the database to keep a generated one');
  }
  if (shared && opts.ui !== false && g.uiToken === undefined) {
    throw new UserError('with the log in PostgreSQL (--db postgres://…), set HUSKY_RELAY_UI_TOKEN (the same on every relay) or pass --no-ui: there is no folder beside the database to keep a generated console token');
  }
  if (!shared && existsSync(g.dbPath)) openDatabase(g.dbPath, { readonly: true }).close(); // ours, and not newer?
  const holder = heldBy(g.dbPath);
  if (holder) throw new DatabaseHeldError(g.dbPath, holder);
  await mustBeFree(port, host); // also port 0: the address must be this machine's

  const lock = acquireServeLock(g.dbPath);
  let relay: import('../relay.js').Relay;
  let secrets: readonly string[];
  let ui: UiToken | undefined;
  try {
    if (!shared) {
      warnIfOpen(logger, g.dbPath);
      removeOrphanScratch(g.dbPath, logger);
    }
    const resolved = resolveSecrets(g.webhookSecret, g.dbPath, true)!;
    if (resolved.generated) announceGenerated(resolved.file!);
    else if (resolved.source === 'file') logger.info({ file: resolved.file }, 'using the webhook secret saved beside the database');
    secrets = resolved.secrets;
    ui = opts.ui === false ? undefined : resolveUiToken(g.uiToken, g.dbPath);
    // loaded here, not at the top: other commands (replay over a million entries) should
    // not pay for koa and the Slack and HubSpot SDKs in memory and start-up time
    const { startRelay } = await import('../relay.js');
    if (lifecycle.stopRequested) {
      if (ui?.generated) forgetToken(ui);
      return stopBeforeStart(logger, lock.release, lifecycle.stopRequested);
    }
    relay = await startRelay({
      dbPath: g.dbPath,
      masterKeys: g.masterKeys,
      retentionMs,
      secrets: () => secrets,
      logger,
      port,
      host,
      maxBodyBytes: opts.maxBody,
      rulesPath: g.rulesPath,
      rulesPreferredPath: g.rulesPreferred,
      env: g.env,
      sinkEnv: { slackApiUrl: g.slackApiUrl, hubspotBaseUrl: g.hubspotBaseUrl },
      ui: ui && { token: ui.token },
    });
    lock.advertise(relay.url);
    if (ui) announceConsole(logger, `${relay.url}/ui/`, ui);
  } catch (error) {
    lock.release();
    if (ui?.generated) forgetToken(ui);
    throw listenError(error, port, host);
  }
  logger.info({ url: `${relay.url}/webhooks/husky`, db: shared ? redactUrl(g.dbPath) : g.dbPath }, 'husky-relay is listening');

  lifecycle.started({
    reload() {
      let candidate: NodeJS.ProcessEnv | undefined;
      try {
        candidate = dotEnvNow();
      } catch (error) {
        logger.error({ err: (error as Error).message }, 'SIGHUP: .env did not reload; the environment stays as it was');
      }
      const now = settingsNow(logger, candidate);
      if (now && candidate) adoptEnv(candidate); // a refused one changes nothing, so the next reload starts clean
      try {
        const again = now && resolveSecrets(now.webhookSecret, g.dbPath, false);
        if (again) secrets = again.secrets;
        if (now) logger.info({ secrets: secrets.length }, 'SIGHUP: webhook secrets reloaded');
      } catch (error) {
        logger.error({ err: (error as Error).message }, 'SIGHUP: the webhook secrets did not reload; the previous ones stay in force');
      }
      // `${VAR}` in the rules file now reads the environment as .env says it now (unless refused)
      void relay.pipeline?.reload('SIGHUP', now?.env);
    },
    async stop(signal) {
      logger.info({ signal }, 'stopping: no new requests; answering those in flight');
      await relay.close();
      lock.release();
      logger.info('stopped cleanly');
      logger.flush();
      process.exit(0);
    },
  });
}

/**
 * The settings `env` gives (on SIGHUP, `dotEnvNow`: the environment at start with `.env` as it is
 * now; undefined: `process.env` as it is), or undefined with an error line naming what a start
 * would refuse (`LOG_LEVEL=verbose` in `.env`): then the secrets and the rules' `${VAR}` values in
 * force stay, as when `.env` cannot be read.
 */
function settingsNow(logger: Logger, env: NodeJS.ProcessEnv | undefined): Globals | undefined {
  try {
    return resolveConfig({}, env);
  } catch (error) {
    logger.error({ err: (error as Error).message }, 'SIGHUP: the environment is refused; the webhook secrets and the variables of the rules stay as they were');
    return undefined;
  }
}

/** Throws the `EnvironmentError` of listening on `port`/`host` if that fails now. */
async function mustBeFree(port: number, host: string): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenError(error, port, host);
  } finally {
    await new Promise((resolve) => probe.close(resolve));
  }
}

function stopBeforeStart(logger: Logger, release: () => void, signal: NodeJS.Signals): void {
  release();
  logger.info({ signal }, 'stopped before start finished; nothing was received');
  logger.flush();
  process.exit(0);
}

/**
 * The log holds call transcripts (README "Files beside the database"): say so when a folder or file we did not make is open to
 * others. Where they are: the database file and its folder, symlinks followed (the link's folder holds no transcript).
 */
function warnIfOpen(logger: Logger, dbPath: string): void {
  const file = dbFileOf(dbPath);
  for (const [path, mode] of [
    [dirname(file), '700'],
    [file, '600'],
  ] as const) {
    const open = exposure(path);
    if (open) logger.warn({ path }, `${path} is open to other users (${open}) and the log holds call transcripts: chmod ${mode} ${path}`);
  }
}

/** Where the console is and where its token is (never the token): a line at every start, and a note on stderr when the token was just generated. */
function announceConsole(logger: Logger, url: string, token: UiToken): void {
  const where = token.source === 'env' ? 'HUSKY_RELAY_UI_TOKEN' : token.file!;
  logger.info({ url, token_from: where }, 'web console: sign in with the console token');
  if (!token.generated) return;
  process.stderr.write(
    [
      '',
      `  Web console: ${url}`,
      `  No HUSKY_RELAY_UI_TOKEN was set, so husky-relay generated a console token and saved it (mode 0600) in:`,
      `    ${token.file!}`,
      `  Print it with:  cat ${token.file!}`,
      `  On a VM, reach the console through an SSH tunnel (README "Console"), not the public address.`,
      '',
    ].join('\n') + '\n',
  );
}

/**
 * Removes the console token this start generated when the start ends before listening (a stop
 * signal, a port taken, a damaged log): it was never announced nor used, and a later start only
 * logs where its token comes from; so the next start generates one again and says where it is.
 */
function forgetToken(token: UiToken): void {
  try {
    unlinkSync(token.file!);
  } catch {
    // already gone: nothing to forget
  }
}

function announceGenerated(file: string): void {
  process.stderr.write(
    [
      '',
      `  No HUSKY_WEBHOOK_SECRET was set, so husky-relay generated one and saved it (mode 0600) in:`,
      `    ${file}`,
      `  Paste its contents into HuskyVoice: Dashboard → Integrations → Outbound Webhooks → your endpoint → Secret.`,
      `  Print it with:  cat ${file}`,
      '',
    ].join('\n') + '\n',
  );
}
