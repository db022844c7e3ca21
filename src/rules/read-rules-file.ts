import type { Problem } from './problem.js';
import { DEFAULTS } from '../config/defaults.js';
import { readRegularFile } from '../regular-file.js';
import { utf8Text } from '../utf8.js';

/**
 * The rules file's bytes and text, or the problem that stops it being read: not found, not a
 * regular file (a directory; a FIFO or a device such as /dev/zero, which would block a read or
 * never end: refused without reading), larger than `DEFAULTS.rules.maxFileBytes` (1 MiB;
 * refused before reading), or not UTF-8 text (a binary file). Never throws.
 */
export async function readRulesFile(path: string): Promise<{ ok: true; bytes: Buffer; text: string } | { ok: false; problem: Problem }> {
  const fail = (message: string) => ({ ok: false as const, problem: { file: path, line: 1, col: 1, message, severity: 'error' as const } });
  const read = await readRegularFile(path, DEFAULTS.rules.maxFileBytes);
  if (!read.ok) {
    const max = DEFAULTS.rules.maxFileBytes;
    return fail(read.size !== undefined ? `rules file is ${read.size} bytes, over the limit of ${max}` : `cannot read rules file: ${read.reason}`);
  }
  const content = read.bytes;
  const nul = content.indexOf(0);
  try {
    if (nul >= 0) throw new Error(`a NUL byte at offset ${nul}`);
    return { ok: true, bytes: content, text: utf8Text(content) };
  } catch (error) {
    return fail(`rules file is not UTF-8 text (${(error as Error).message}): is it the right file?`);
  }
}
