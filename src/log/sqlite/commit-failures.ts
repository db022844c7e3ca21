import type { LogUnavailableError } from '../../errors.js';
import type { NewEntry } from '../types.js';
import { DEFAULTS } from '../../config/defaults.js';

/** Failures that may clear without a commit to show it: a full disk, an I/O error, a lock, a read-only file. */
const FADING = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY)/;
/** Failures the readiness probe sees by itself, so its success clears them. */
const PROBED = /^SQLITE_(BUSY|LOCKED|READONLY)/;

/**
 * The memory of failed commits behind `GroupCommit.failure()` (/readyz). A failure is kept by
 * the kind of entries its caller appended (their types), until a commit of that kind succeeds:
 * the router's checkpoint committing says nothing of whether an event can (a corrupted page of
 * a table only events write). Fading kinds are forgotten after `DEFAULTS.log.failedCommitMemoryMs`, so a
 * balancer that took the relay out lets it try again; anything else (a corrupted page, a lost
 * WAL) stays until a commit of its kind succeeds or `serve` restarts.
 */
export class CommitFailures {
  private readonly byKind = new Map<string, { error: LogUnavailableError; at: number }>();

  failed(entries: NewEntry[], error: LogUnavailableError, at: number): void {
    this.byKind.set(kindOf(entries.map((entry) => entry.type)), { error, at });
  }

  committed(entries: NewEntry[]): void {
    if (this.byKind.size > 0) this.byKind.delete(kindOf(entries.map((entry) => entry.type)));
  }

  /** The readiness probe could write: what it would have seen is over. */
  probed(): void {
    for (const [kind, { error }] of this.byKind) if (PROBED.test(codeOf(error))) this.byKind.delete(kind);
  }

  /** The message of a failure still remembered (of appends of `types` only, if given), or null. */
  current(now: number, types?: NewEntry['type'][]): string | null {
    const only = types && kindOf(types);
    for (const [kind, { error, at }] of this.byKind) {
      if (FADING.test(codeOf(error)) && now - at >= DEFAULTS.log.failedCommitMemoryMs) this.byKind.delete(kind);
      else if (only === undefined || kind === only) return error.message;
    }
    return null;
  }
}

/** The kind of a caller's commit: the types of its entries (none: a checkpoint alone). */
function kindOf(types: string[]): string {
  return [...new Set(types)].sort().join(',') || 'checkpoint';
}

function codeOf(error: LogUnavailableError): string {
  return (error.cause as { code?: string } | undefined)?.code ?? '';
}
