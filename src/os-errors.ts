import { userInfo } from 'node:os';
import { UserError } from './errors.js';

/**
 * A problem of the machine the relay runs on, not of the relay: a path it cannot write, a
 * port in use, a full disk, a file that is not its database. A user error (exit 1, one
 * line that names the path or port); `code` is the errno or SQLite code it came from.
 */
export class EnvironmentError extends UserError {
  constructor(message: string, code: string) {
    super(message, code);
    this.name = 'EnvironmentError';
  }
}

/** The errno (`EACCES`) or SQLite (`SQLITE_FULL`) code of an error, if it has one. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Why a file operation failed, in words, from its errno or SQLite code; null when unknown. */
export function reasonOf(code: string | undefined): string | null {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return `permission denied (husky-relay runs as ${whoAmI()})`;
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
    case 'SQLITE_FULL':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EISDIR':
      return 'it is a folder, not a file';
    case 'ENOENT':
      return 'no such file or folder (or folders cannot be made there)';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'EIO':
      return 'input/output error (a failing disk?)';
    default:
      return null;
  }
}

/**
 * `error` from doing `what` to `path` (`cannot create the folder`, `cannot write`) as an
 * `EnvironmentError` when its code is one of the machine's (permission, read-only, full,
 * not a folder…); any other error is returned as it is, to be reported as an internal one.
 */
export function fileError(error: unknown, what: string, path: string): unknown {
  const code = codeOf(error);
  const reason = reasonOf(code);
  return reason ? new EnvironmentError(`${what} ${path}: ${reason}`, code!) : error;
}

/**
 * A listen error (`syscall` listen or getaddrinfo) as an `EnvironmentError` naming the port
 * and address (in use, not an address of this machine, a privileged port); any other error
 * as it is.
 */
export function listenError(error: unknown, port: number, host: string): unknown {
  const syscall = (error as { syscall?: unknown } | null)?.syscall;
  if (error instanceof UserError || (syscall !== 'listen' && syscall !== 'getaddrinfo')) return error;
  const code = codeOf(error);
  const where = `port ${port} on ${host}`;
  switch (code) {
    case 'EADDRINUSE':
      return new EnvironmentError(`${where} is already in use (another husky-relay?); choose another with --port or PORT`, code);
    case 'EACCES':
    case 'EPERM':
      return new EnvironmentError(`not allowed to listen on ${where} (ports below 1024 need privileges); use a port such as 3000 behind a proxy`, code);
    case 'EADDRNOTAVAIL':
      return new EnvironmentError(`${host} is not an address of this machine (--host or HOST)`, code);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new EnvironmentError(`--host ${host}: no such host name`, code);
    default:
      return error;
  }
}
