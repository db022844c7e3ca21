import { existsSync, readFileSync } from 'node:fs';
import { isPostgresUrl } from '../log/location.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { UserError } from '../errors.js';
import { EnvironmentError } from '../os-errors.js';
import { readRegularFileSync } from '../regular-file.js';
import { utf8Text } from '../utf8.js';
import { DEFAULTS } from './defaults.js';
import { baseUrlOf, logLevelOf, masterKeysOf } from './env-values.js';

/**
 * The relay's settings as a command sees them: resolved once from the command line and the
 * environment (README "Command line"). This is the only module that reads `process.env`; everything else
 * is handed what it needs from here.
 */
export interface RelayConfig {
  /** Absolute path of the SQLite log. */
  dbPath: string;
  /** Absolute path of the rules file in force. */
  rulesPath: string;
  /** Set when `./rules.example.yaml` stands in for a missing `./rules.yaml`. */
  rulesWarning?: string;
  /** Set when the example stands in: the file that takes over once it exists. */
  rulesPreferred?: string;
  /** `PORT`, or the default (a `serve --port` flag wins over it). */
  port: number;
  /** `HOST`, or the default (a `serve --host` flag wins over it). */
  host: string;
  /** `LOG_LEVEL` in lower case, one of `LOG_LEVELS` (pino's, and `silent`), or the default. */
  logLevel: string;
  /** `SLACK_API_URL` (an absolute http(s) URL), or the default. */
  slackApiUrl: string;
  /** `HUBSPOT_BASE_URL` (an absolute http(s) URL), or the default. */
  hubspotBaseUrl: string;
  /** `HUSKY_WEBHOOK_SECRET` as set (checked by `receive/secrets.ts`), or undefined when unset or empty. */
  webhookSecret: string | undefined;
  /** `HUSKY_RELAY_UI_TOKEN`: the web console's sign-in token (README "Console"); undefined: the one saved beside the database. */
  uiToken: string | undefined;
  /** `HUSKY_RELAY_MASTER_KEY` as set (README "Personal data"): new key first, old ones after, each of the right form (`masterKeysOf`); or undefined when unset or blank. */
  masterKeys: string | undefined;
  /** `HUSKY_RELAY_RETENTION` as set (`90d`; README "Personal data"), or undefined: retention off. */
  retention: string | undefined;
  /** The variables `${VAR}` in the rules file may name: the environment when this was resolved. */
  env: Readonly<Record<string, string | undefined>>;
}

/** The global flags every command takes. */
export interface GlobalFlags {
  db?: string;
  rules?: string;
}

/** A SQLite path made absolute; a `postgres://` URL (SPEC §13) as it is. */
function dbLocation(value: string): string {
  return isPostgresUrl(value) ? value : resolve(value);
}

/**
 * Resolves the settings from flags and the environment (`.env` already loaded into it). Every
 * variable is read through `given`: unset, empty and only-whitespace are one and the same
 * (a blank `VAR=` line in `.env` or a systemd EnvironmentFile gives the default), except that
 * `HUSKY_WEBHOOK_SECRET` of whitespace alone is kept, to be refused (README "Secrets and rotation").
 * Throws a `UserError` naming the variable when one holds something unusable: a `PORT` that is
 * not a port number, a `LOG_LEVEL` pino does not have, a `SLACK_API_URL` or `HUBSPOT_BASE_URL`
 * that is not an absolute http(s) URL, a `HUSKY_RELAY_MASTER_KEY` whose keys are not 32 bytes
 * each (`masterKeysOf`).
 */
export function resolveConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const rules = resolveRulesPath(flags.rules, env);
  const port = given(env, 'PORT')?.trim();
  const level = given(env, 'LOG_LEVEL')?.trim();
  const secret = env['HUSKY_WEBHOOK_SECRET'];
  return {
    dbPath: dbLocation(flags.db ?? given(env, 'HUSKY_RELAY_DB') ?? DEFAULTS.db),
    rulesPath: rules.path,
    ...(rules.warning !== undefined && { rulesWarning: rules.warning }),
    ...(rules.preferred !== undefined && { rulesPreferred: rules.preferred }),
    port: port === undefined ? DEFAULTS.port : parsePort(port, 'PORT'),
    host: given(env, 'HOST')?.trim() ?? DEFAULTS.host,
    logLevel: level === undefined ? DEFAULTS.logLevel : logLevelOf(level),
    slackApiUrl: baseUrl(env, 'SLACK_API_URL', DEFAULTS.slackApiUrl),
    hubspotBaseUrl: baseUrl(env, 'HUBSPOT_BASE_URL', DEFAULTS.hubspotBaseUrl),
    webhookSecret: secret === '' ? undefined : secret,
    uiToken: given(env, 'HUSKY_RELAY_UI_TOKEN')?.trim(),
    masterKeys: masterKeysOf(given(env, 'HUSKY_RELAY_MASTER_KEY')),
    retention: given(env, 'HUSKY_RELAY_RETENTION')?.trim(),
    env: { ...env },
  };
}

/** The variable `name` as set, or undefined when it is unset, empty or only whitespace. */
function given(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The API base URL in `name`, trimmed; `fallback` when unset or empty. Throws as `baseUrlOf`. */
function baseUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = given(env, name)?.trim();
  return value === undefined ? fallback : baseUrlOf(name, value, fallback);
}

/**
 * A port number, 0 to 65535, written in digits alone (no sign, space, point, exponent or `0x`:
 * `Number` took "0x50" for 80), or a `UserError` naming where it came from (`--port`, `PORT`).
 */
export function parsePort(value: string, name = '--port'): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UserError(`${name}: "${value}" is not a port number`);
  return port;
}

/** The process's own environment before `.env` was first read: what every reload starts from. */
let atStart: Readonly<NodeJS.ProcessEnv> | undefined;

/**
 * `.env` in the working directory, if present, over `base`: a variable `base` sets wins,
 * unless set empty (`HUSKY_WEBHOOK_SECRET=` in a systemd EnvironmentFile): an empty one is unset
 * (`given`), so `.env` fills it. A new object; `base` is not changed. Throws as `readDotEnv`.
 */
function withDotEnv(base: Readonly<NodeJS.ProcessEnv>, cwd: string): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const [key, value] of Object.entries(readDotEnv(cwd))) if (given(base, key) === undefined) env[key] = value;
  return env;
}

/** At start: `.env` in the working directory into `process.env`, as `withDotEnv` says. Throws as `readDotEnv`. */
export function loadDotEnv(cwd = process.cwd()): void {
  atStart ??= { ...process.env };
  Object.assign(process.env, withDotEnv(atStart, cwd));
}

/**
 * On SIGHUP: the environment a start now would have, the process's environment at start with
 * `.env` as it is now (`withDotEnv`): a token added or changed in `.env` takes effect, and a
 * variable `.env` no longer sets is back to what it was at start (unset if it was). Changes
 * nothing: check it (`resolveConfig`), then `adoptEnv` it. Throws as `readDotEnv`.
 */
export function dotEnvNow(cwd = process.cwd()): NodeJS.ProcessEnv {
  return withDotEnv((atStart ??= { ...process.env }), cwd);
}

/** Makes `env` (from `dotEnvNow`, accepted) `process.env`: its variables set, every other one unset. */
export function adoptEnv(env: Readonly<NodeJS.ProcessEnv>): void {
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
}

/**
 * The variables of `.env` in `cwd` (none when there is no such file). Throws an
 * `EnvironmentError` naming it when it cannot be read, is not a regular file (a FIFO would
 * block every command) or is over `DEFAULTS.files.maxDotEnvBytes`.
 */
function readDotEnv(cwd: string): Record<string, string> {
  const file = resolve(cwd, '.env');
  const read = readRegularFileSync(file, DEFAULTS.files.maxDotEnvBytes);
  // without a leading BOM, which would otherwise become part of the first variable's name
  if (read.ok) return parseEnv(utf8Text(read.bytes, { lenient: true })) as Record<string, string>;
  if (read.code === 'ENOENT') return {};
  throw new EnvironmentError(`cannot read ${file}: ${read.reason}; remove it or make it a file of VAR=value lines`, read.code);
}

/**
 * The rules file, and a warning if the example stands in for a missing rules.yaml; then
 * `preferred` is ./rules.yaml, which `serve` switches to as soon as it appears.
 */
function resolveRulesPath(flag: string | undefined, env: NodeJS.ProcessEnv): { path: string; warning?: string; preferred?: string } {
  const chosen = flag ?? given(env, 'HUSKY_RELAY_RULES');
  if (chosen) return { path: resolve(chosen) };
  if (existsSync(DEFAULTS.rulesFile) || !existsSync(DEFAULTS.exampleRulesFile)) return { path: resolve(DEFAULTS.rulesFile) };
  return {
    path: resolve(DEFAULTS.exampleRulesFile),
    warning: `no ./rules.yaml: using ./rules.example.yaml (copy it to rules.yaml and edit it; serve switches to it when it appears)`,
    preferred: resolve(DEFAULTS.rulesFile),
  };
}

/**
 * The `version` of the package.json this program was installed with, read when asked (not
 * copied into the build), so an upgrade in place can never print a stale number.
 */
export function packageVersion(): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
