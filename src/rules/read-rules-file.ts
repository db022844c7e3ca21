import { open } from 'node:fs/promises';
import type { Problem } from './problem.js';
import { DEFAULTS } from '../config/defaults.js';

/**
 * The rules file's bytes and text, or the problem that stops it being read: not found, not a
 * regular file (a directory or a FIFO, which would block a read forever), larger than
 * `DEFAULTS.rules.maxFileBytes`, or not UTF-8 text (a binary file). Never throws.
 */
export async function readRulesFile(path: string): Promise<{ ok: true; bytes: Buffer; text: string } | { ok: false; problem: Problem }> {
  const fail = (message: string) => ({ ok: false as const, problem: { file: path, line: 1, col: 1, message, severity: 'error' as const } });
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(`cannot read rules file: ${code === 'ENOENT' ? 'file not found' : (error as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return fail(`cannot read rules file: it is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}`);
    if (stat.size > DEFAULTS.rules.maxFileBytes) return fail(`rules file is ${stat.size} bytes, over the limit of ${DEFAULTS.rules.maxFileBytes}`);
    const bytes = Buffer.alloc(Math.min(stat.size, DEFAULTS.rules.maxFileBytes) + 1);
    const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
    if (bytesRead > DEFAULTS.rules.maxFileBytes) return fail(`rules file is over the limit of ${DEFAULTS.rules.maxFileBytes} bytes`);
    const content = bytes.subarray(0, bytesRead);
    const nul = content.indexOf(0);
    let text: string;
    try {
      if (nul >= 0) throw new Error(`a NUL byte at offset ${nul}`);
      text = new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch (error) {
      return fail(`rules file is not UTF-8 text (${(error as Error).message}): is it the right file?`);
    }
    return { ok: true, bytes: content, text };
  } catch (error) {
    return fail(`cannot read rules file: ${(error as Error).message}`);
  } finally {
    await handle.close();
  }
}
