import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/*
 * Reading a file a user names (the rules file, the webhook secret file, `.env`) without trusting
 * what it is: a named pipe would block the open or the read forever (no writer), `/dev/zero` or
 * `/dev/urandom` never end, a directory cannot be read, and a huge file would be read whole into
 * memory. The file is opened non-blocking (a FIFO opens at once), checked on the open
 * descriptor (no race between a check and the open), and read to at most `maxBytes`.
 */

/** The file's bytes, or why they were not read: `code` (`ENOENT`, `not_a_file`, `too_large` with the `size`, `changed`, an errno) and a phrase. */
export type FileRead = { ok: true; bytes: Buffer } | { ok: false; code: string; reason: string; size?: number };

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** What a non-regular file is, in words (`a named pipe (FIFO)`). */
function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function refused(stat: Stats, maxBytes: number): FileRead | null {
  if (!stat.isFile()) return { ok: false, code: 'not_a_file', reason: `it is ${kindOf(stat)}, not a regular file` };
  if (stat.size > maxBytes) return { ok: false, code: 'too_large', size: stat.size, reason: `it is ${stat.size} bytes, over the limit of ${maxBytes}` };
  return null;
}

function failed(error: unknown): FileRead {
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
  return { ok: false, code, reason: code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'it is a directory, not a regular file' : (error as Error).message };
}

/** What was read: all of it, or a file that grew between the stat and the read (written to meanwhile). */
const result = (bytes: Buffer, length: number, size: number): FileRead =>
  length > size ? { ok: false, code: 'changed', reason: 'it grew while it was read (still being written?)' } : { ok: true, bytes: bytes.subarray(0, length) };

/**
 * The bytes of the regular file at `path`, at most `maxBytes` of them, or why not (see
 * `FileRead`). Never blocks on a pipe or device, never throws.
 */
export function readRegularFileSync(path: string, maxBytes: number): FileRead {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch (error) {
    return failed(error);
  }
  try {
    const stat = fstatSync(fd);
    const refusal = refused(stat, maxBytes);
    if (refusal) return refusal;
    const bytes = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (let n; length < bytes.length && (n = readSync(fd, bytes, length, bytes.length - length, length)) > 0; ) length += n;
    return result(bytes, length, stat.size);
  } catch (error) {
    return failed(error);
  } finally {
    closeSync(fd);
  }
}

/** `readRegularFileSync`, off the event loop. */
export async function readRegularFile(path: string, maxBytes: number): Promise<FileRead> {
  let handle;
  try {
    handle = await open(path, FLAGS);
  } catch (error) {
    return failed(error);
  }
  try {
    const stat = await handle.stat();
    const refusal = refused(stat, maxBytes);
    if (refusal) return refusal;
    const bytes = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (let n; length < bytes.length && (n = (await handle.read(bytes, length, bytes.length - length, length)).bytesRead) > 0; ) length += n;
    return result(bytes, length, stat.size);
  } catch (error) {
    return failed(error);
  } finally {
    await handle.close();
  }
}
