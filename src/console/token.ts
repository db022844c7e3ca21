import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULTS } from '../config/defaults.js';
import { UserError } from '../errors.js';
import { codeOf, EnvironmentError, fileError, reasonOf } from '../os-errors.js';
import { ensurePrivateFolder, PRIVATE_FILE_MODE } from '../log/private-files.js';
import { privateFileOf } from '../log/db-files.js';
import { readRegularFileSync } from '../regular-file.js';
import { count } from '../count.js';

/** The console token and where it came from (README "Console"). */
export interface UiToken {
  token: string;
  /** `env`: `HUSKY_RELAY_UI_TOKEN`; `file`: the `ui-token` file beside the database. */
  source: 'env' | 'file';
  /** The file, when it came from one. */
  file?: string;
  /** True when this call created the file (say where, once). */
  generated: boolean;
}

/** The shortest console token accepted: one that can be guessed lets anyone re-drive and read transcripts. */
const MIN_UI_TOKEN_LENGTH = 16;

/** `ui-token` beside the database file (symlinks followed: see `privateFileOf`), mode 0600. */
function uiTokenFileFor(dbPath: string): string {
  return privateFileOf(dbPath, 'ui-token', 'console token');
}

/**
 * `HUSKY_RELAY_UI_TOKEN` when set; else the `ui-token` file beside the database file; else a new
 * random token (`hrui_` and 32 base64url characters) written there with mode 0600. Throws
 * `UserError` for a token shorter than `MIN_UI_TOKEN_LENGTH` (never quoting it) and
 * `EnvironmentError` when the file cannot be read or written, or when it and an older one
 * beside a `--db` symlink differ.
 */
export function resolveUiToken(envValue: string | undefined, dbPath: string): UiToken {
  if (envValue !== undefined) return { token: checked(envValue, 'HUSKY_RELAY_UI_TOKEN'), source: 'env', generated: false };
  const file = uiTokenFileFor(dbPath);
  const read = readRegularFileSync(file, DEFAULTS.files.maxSecretFileBytes);
  if (read.ok) return { token: checked(read.bytes.toString('utf8').trim(), file), source: 'file', file, generated: false };
  if (read.code !== 'ENOENT') throw new EnvironmentError(`cannot read the console token in ${file}: ${reasonOf(read.code) ?? read.reason}`, read.code);
  ensurePrivateFolder(dirname(file));
  const token = `hrui_${randomBytes(24).toString('base64url')}`;
  try {
    writeFileSync(file, `${token}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return resolveUiToken(undefined, dbPath);
    throw fileError(error, 'cannot write the console token to', file);
  }
  chmodSync(file, PRIVATE_FILE_MODE);
  return { token, source: 'file', file, generated: true };
}

function checked(token: string, where: string): string {
  if (token.length < MIN_UI_TOKEN_LENGTH) {
    throw new UserError(`${where}: the console token is ${count(token.length, 'character', 'characters')} long; it needs at least ${MIN_UI_TOKEN_LENGTH} (generate one with: openssl rand -hex 32)`, 'invalid_ui_token');
  }
  return token;
}

/** Whether `given` is the token, in constant time: both are hashed first, so neither length nor content leaks through timing. */
export function tokenMatches(token: string, given: string): boolean {
  const hash = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(hash(token), hash(given));
}
