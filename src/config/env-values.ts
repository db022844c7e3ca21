import { pino } from 'pino';
import { UserError } from '../errors.js';
import { parseMasterKeys } from '../privacy/keys.js';

/**
 * What the relay's environment variables may hold, checked when the settings are resolved
 * (`resolve.ts`), so a bad value stops a command at start in one line that names the variable
 * (SPEC §2: environment problems are user errors), not later as a stack trace or as every
 * delivery of a sink going dead. The sinks ask `baseUrlProblem` too, for a relay started by
 * code rather than by the command line.
 */

/** pino's levels, most severe first, then `silent`: what `LOG_LEVEL` may name. */
export const LOG_LEVELS: readonly string[] = [
  ...Object.entries(pino.levels.values)
    .sort(([, a], [, b]) => b - a)
    .map(([name]) => name),
  'silent',
];

/**
 * `value` of `LOG_LEVEL` as pino takes it: one of `LOG_LEVELS` in any case (`INFO` is `info`;
 * pino itself took `INFO` but refused `SILENT`). Throws a `UserError` naming the variable, the
 * value and the levels there are (pino threw an internal error with a stack).
 */
export function logLevelOf(value: string, name = 'LOG_LEVEL'): string {
  const level = value.toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new UserError(`${name}: ${quoted(value)} is not one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/**
 * Why `value`, the variable `name`, cannot be an API's base URL, in words that name both
 * (`SLACK_API_URL: "slack.internal/api/" is not an absolute http:// or https:// URL`); undefined
 * when it can: an absolute `http:` or `https:` URL with no query or fragment (the SDKs append
 * the method's path to it). An empty value is a problem here: `resolveConfig` has already
 * taken an empty variable for unset, and the HubSpot SDK took an empty base for its own
 * https default while the sink's pool, seeing no URL, made plain-http connections.
 */
export function baseUrlProblem(name: string, value: string): string | undefined {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') return `${name}: ${quoted(value)} is not an absolute http:// or https:// URL`;
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(value)) return `${name}: ${quoted(value)} has a query or fragment; an API base URL has neither`;
  return undefined;
}

/**
 * `value` of the variable `name` if it can be an API's base URL (see `baseUrlProblem`); else
 * throws a `UserError` that names the variable and the value, and says what it defaults to.
 */
export function baseUrlOf(name: string, value: string, fallback: string): string {
  const problem = baseUrlProblem(name, value);
  if (problem) throw new UserError(`${problem} (leave it unset or empty for ${fallback})`);
  return value;
}

/**
 * `value` of `HUSKY_RELAY_MASTER_KEY` (undefined: unset or blank) if its form is right: keys
 * separated by commas, each 64 hex characters or the base64 of 32 bytes. Otherwise throws the
 * `UserError` of `parseMasterKeys`, naming the variable and which key (`key 2 is not 32
 * bytes`), so a command refuses it at start, before `serve` creates a file. Whether the keys
 * open the log's data keys is known only once the log is open (`checkKeyring`).
 */
export function masterKeysOf(value: string | undefined): string | undefined {
  if (value !== undefined) parseMasterKeys(value);
  return value;
}

/** A value as a message shows it: quoted, escaped (a line break stays on the line), at most 100 characters. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
