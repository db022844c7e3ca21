import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ResolvedSecrets {
  secrets: string[];
  /** Where they came from: the variable, or the file beside the database. */
  source: 'env' | 'file';
  file?: string;
  /** True when this call created the file (say so once, loudly). */
  generated: boolean;
}

/** The generated secret lives beside the database, readable by its owner only. */
export function secretFileFor(dbPath: string): string {
  return join(dirname(dbPath), 'webhook-secret');
}

export function parseSecrets(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * `HUSKY_WEBHOOK_SECRET` (comma-separated, any one valid: rotation) if set; else the file
 * beside the database; else, if `generate`, a new random secret written there with mode
 * 0600. Never returns an empty list: a request is never accepted unsigned.
 */
export function resolveSecrets(env: NodeJS.ProcessEnv, dbPath: string, generate: boolean): ResolvedSecrets | null {
  const fromEnv = parseSecrets(env['HUSKY_WEBHOOK_SECRET'] ?? '');
  if (fromEnv.length > 0) return { secrets: fromEnv, source: 'env', generated: false };
  const file = secretFileFor(dbPath);
  if (existsSync(file)) {
    const secrets = parseSecrets(readFileSync(file, 'utf8'));
    if (secrets.length > 0) return { secrets, source: 'file', file, generated: false };
  }
  if (!generate) return null;
  mkdirSync(dirname(file), { recursive: true });
  const secret = `hsk_${randomBytes(24).toString('base64url')}`;
  try {
    // 'wx': if another process got there first, its secret wins and we read it
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    return resolveSecrets(env, dbPath, false);
  }
  chmodSync(file, 0o600); // the umask may have narrowed it further, never widened
  return { secrets: [secret], source: 'file', file, generated: true };
}
