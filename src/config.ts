import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { resolve } from 'node:path';

/** Every default of the relay, in one place (SPEC §2, §3, §4, §7). */
export const DEFAULTS = {
  /** Where the log lives. (Default: ./data/husky-relay.db) */
  db: './data/husky-relay.db',
  /** The rules file; ./rules.example.yaml is used, with a warning, if this is missing. */
  rules: './rules.yaml',
  exampleRules: './rules.example.yaml',
  port: 3000,
  host: '0.0.0.0',
  /** Largest webhook body accepted. (Default: 1 MiB) */
  maxBodyBytes: 1024 * 1024,
  slackApiUrl: 'https://slack.com/api/',
  hubspotBaseUrl: 'https://api.hubapi.com',
  /** How long running attempts may take to finish on shutdown. (Default: 10 s) */
  shutdownGraceMs: 10_000,
} as const;

/**
 * The largest the WAL file stays after a burst (`PRAGMA journal_size_limit`): SQLite lets the
 * WAL grow while a reader holds an old snapshot, and cuts it back to this at the first write
 * after a complete checkpoint. About SQLite's automatic checkpoint size (1000 pages of
 * 4 KiB), so steady traffic never pays for cutting it. (Default: 4 MiB)
 */
export const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * The shortest webhook secret accepted (characters), in `HUSKY_WEBHOOK_SECRET` or the
 * `webhook-secret` file: a short secret can be guessed, and with it anyone can forge calls.
 * The generated one has 36. (Default: 16)
 */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/**
 * How long `serve` or `replay --rebuild` waits for the database's lock (`<db>.lock`) before
 * saying who holds it: long enough to ride out another process glancing at it. (Default: 250 ms)
 */
export const LOCK_WAIT_MS = 250;

/** `.env` in the working directory, if present; variables already set win. */
export function loadDotEnv(cwd = process.cwd()): void {
  const file = resolve(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/**
 * On SIGHUP: what `.env` says now wins over what it said at start, so a token added there
 * takes effect with a reload. Variables `.env` does not mention are left alone.
 */
export function reloadDotEnv(cwd = process.cwd()): void {
  const file = resolve(cwd, '.env');
  if (!existsSync(file)) return;
  for (const [key, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) process.env[key] = value;
}

export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? env['HUSKY_RELAY_DB'] ?? DEFAULTS.db);
}

/**
 * The rules file, and a warning if the example stands in for a missing rules.yaml; then
 * `preferred` is ./rules.yaml, which `serve` switches to as soon as it appears.
 */
export function resolveRulesPath(flag: string | undefined, env: NodeJS.ProcessEnv): { path: string; warning?: string; preferred?: string } {
  const chosen = flag ?? env['HUSKY_RELAY_RULES'];
  if (chosen) return { path: resolve(chosen) };
  if (existsSync(DEFAULTS.rules) || !existsSync(DEFAULTS.exampleRules)) return { path: resolve(DEFAULTS.rules) };
  return {
    path: resolve(DEFAULTS.exampleRules),
    warning: `no ./rules.yaml: using ./rules.example.yaml (copy it to rules.yaml and edit it; serve switches to it when it appears)`,
    preferred: resolve(DEFAULTS.rules),
  };
}

/**
 * The `version` of the package.json this program was installed with, read when asked (not
 * copied into the build), so an upgrade in place can never print a stale number.
 */
export function packageVersion(): string {
  const file = fileURLToPath(new URL('../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
