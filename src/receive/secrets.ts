import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULTS } from '../config/defaults.js';

const MIN_WEBHOOK_SECRET_LENGTH = DEFAULTS.http.minWebhookSecretLength;
import { UserError } from '../errors.js';
import { codeOf, EnvironmentError, fileError, reasonOf } from '../os-errors.js';
import { readRegularFileSync } from '../regular-file.js';
import { ensurePrivateFolder, PRIVATE_FILE_MODE } from '../log/private-files.js';
import { privateFileOf } from '../log/db-files.js';
import { count } from '../count.js';

export interface ResolvedSecrets {
  secrets: string[];
  /** Where they came from: the variable, or the file beside the database. */
  source: 'env' | 'file';
  file?: string;
  /** True when this call created the file (say so once, loudly). */
  generated: boolean;
}

/** A webhook secret that cannot be used: a user error that says why, never the secret itself. */
export class WebhookSecretError extends UserError {
  constructor(message: string) {
    super(message, 'invalid_webhook_secret');
    this.name = 'WebhookSecretError';
  }
}

const ENV = 'HUSKY_WEBHOOK_SECRET';
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The generated secret lives beside the database file, readable by its owner only (symlinks
 * followed: see `privateFileOf`, which may copy one an older relay kept beside a symlink, and
 * throws when two differ).
 */
export function secretFileFor(dbPath: string): string {
  return privateFileOf(dbPath, 'webhook-secret', 'webhook secret');
}

/**
 * The secrets of a comma-separated list (rotation: `NEW,OLD`), each trimmed; empty items
 * (`NEW,`) are skipped. Throws a `WebhookSecretError` naming `where` (the variable or the
 * file) when the list holds no secret, or a secret is shorter than
 * `MIN_WEBHOOK_SECRET_LENGTH` or holds a control character. Messages never quote a secret.
 */
export function parseSecrets(value: string, where = ENV): string[] {
  const secrets = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (secrets.length === 0) {
    throw new WebhookSecretError(
      where === ENV
        ? `${ENV} is set but holds no secret (only commas and spaces): set it to the secret, or leave it empty to use the generated one`
        : `${where} holds no secret (it is empty): put the webhook secret in it, or delete it to have \`husky-relay serve\` generate a new one`,
    );
  }
  secrets.forEach((secret, i) => {
    const which = secrets.length > 1 ? `secret ${i + 1} of ${secrets.length}` : 'the secret';
    if (/^v\d+$/i.test(secret) && /^whsec_/i.test(secrets[i + 1] ?? '')) {
      throw new WebhookSecretError(
        `${where}: "${secret},whsec_…" looks like a Standard Webhooks value; "${secret}," is a version prefix, not part of a secret, ` +
          `and the comma makes "${secret}" a secret of its own (commas separate secrets). Paste only the secret HuskyVoice shows`,
      );
    }
    if (secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
      throw new WebhookSecretError(
        `${where}: ${which} is ${count(secret.length, 'character', 'characters')} long; a webhook secret needs at least ` +
          `${MIN_WEBHOOK_SECRET_LENGTH} (anyone who guesses a short one can forge calls). Use the secret from the HuskyVoice dashboard, ` +
          'or generate one with: openssl rand -hex 32',
      );
    }
    if (CONTROL.test(secret)) throw new WebhookSecretError(`${where}: ${which} holds a control character (a line break pasted with it?)`);
  });
  return secrets;
}

/**
 * `HUSKY_WEBHOOK_SECRET`'s secrets, or null when it is unset or empty (the documented way to
 * use the generated one). Set to whitespace only, it is refused: a blank line pasted into a
 * unit file or a secret manager is a mistake, not a wish for a generated secret. Spaces and
 * line breaks around each secret are ignored (trimmed), as in the secret file. Throws as
 * `parseSecrets`.
 */
export function secretsFromEnv(value: string | undefined): string[] | null {
  if (value === undefined || value === '') return null;
  if (value.trim() === '') {
    throw new WebhookSecretError(
      `${ENV} is set but holds only whitespace (spaces or line breaks): set it to the secret, or unset it (or set it empty) to use the generated one`,
    );
  }
  return parseSecrets(value, ENV);
}

/**
 * `HUSKY_WEBHOOK_SECRET` (comma-separated, any one valid: rotation) if set; else the file
 * beside the database file (`secretFileFor`); else, if `generate`, a new random secret written there with mode
 * 0600 (`hsk_` and 32 base64url characters). Never returns an empty list: a request is never
 * accepted unsigned. Throws a `WebhookSecretError` for an unusable secret (see
 * `parseSecrets`), an `EnvironmentError` when the file cannot be read or written, or when it
 * and an older one beside a `--db` symlink differ.
 */
export function resolveSecrets(envValue: string | undefined, dbPath: string, generate: boolean): ResolvedSecrets | null {
  const fromEnv = secretsFromEnv(envValue);
  if (fromEnv) return { secrets: fromEnv, source: 'env', generated: false };
  const file = secretFileFor(dbPath);
  const saved = readSecretFile(file);
  if (saved !== null) return { secrets: parseSecrets(saved, file), source: 'file', file, generated: false };
  if (!generate) return null;
  ensurePrivateFolder(dirname(file));
  const secret = `hsk_${randomBytes(24).toString('base64url')}`;
  try {
    // 'wx': if another process got there first, its secret wins and we read it
    writeFileSync(file, `${secret}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return resolveSecrets(envValue, dbPath, false);
    throw fileError(error, 'cannot write the webhook secret to', file);
  }
  chmodSync(file, PRIVATE_FILE_MODE); // the umask may have narrowed it further, never widened
  return { secrets: [secret], source: 'file', file, generated: true };
}

/** The secret file's text, null when there is none; a FIFO, a device or a huge file is refused unread. */
function readSecretFile(file: string): string | null {
  const read = readRegularFileSync(file, DEFAULTS.files.maxSecretFileBytes);
  if (read.ok) return read.bytes.toString('utf8');
  if (read.code === 'ENOENT') return null;
  throw new EnvironmentError(`cannot read the webhook secret in ${file}: ${reasonOf(read.code) ?? read.reason}`, read.code);
}
