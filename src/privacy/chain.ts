import { hash } from 'node:crypto';

/**
 * The log's hash chain (README "Personal data"): every entry's `hash` is a SHA-256 over the
 * previous entry's hash and the entry's facts (seq, type, at, data without payload) and its
 * payload's keyed digest. Erasing a payload leaves facts and digest, so the chain stays
 * verifiable; changing any fact breaks it from that entry on. Engine-independent: the facts
 * are hashed as canonical JSON (keys sorted), whatever order an engine stores them in.
 */

/** The hash before the first entry. */
export const GENESIS = '0'.repeat(64);

/** What the chain covers of one entry. */
export interface ChainLink {
  seq: number;
  type: string;
  at: string;
  facts: unknown;
  /** The payload's digest, or null for an entry without payload. */
  digest: string | null;
  /** Set when the engine found the stored payload not to match `digest` (altered ciphertext). */
  problem?: string;
}

/** JSON with object keys sorted, so the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // strings built by appending, not map/join: this runs for every entry appended and verified
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i += 1) text += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${text}]`;
  }
  const object = value as Record<string, unknown>;
  let text = '{';
  for (const key of Object.keys(object).sort()) {
    const field = object[key];
    if (field === undefined) continue;
    text += `${text.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(field)}`;
  }
  return `${text}}`;
}

/** The hash of `link` after `prev` (hex). */
export function linkHash(prev: string, link: ChainLink): string {
  // one-shot (node:crypto `hash`, Node ≥ 20.12): a third of createHash's cost for an entry
  return hash('sha256', `${prev}\n${link.seq}\n${link.type}\n${link.at}\n${link.digest ?? ''}\n${canonicalJson(link.facts)}`, 'hex');
}

/**
 * Where a log starts once retention removed its oldest entries (README "Retention"): the first
 * seq kept, and the hash of the entry before it, which the chain of the entries kept goes on from.
 */
export interface LogStart {
  seq: number;
  prev: string;
}

/** What `verifyChain` found. `from`: where it started, when not at seq 1. */
export type ChainVerdict =
  | { ok: true; entries: number; head: string; from?: LogStart }
  | { ok: false; entries: number; seq: number; reason: string };

/**
 * Recomputes the chain over `links` (in seq order, from the first entry, or from `start` when
 * retention removed the entries before it) against each one's stored hash; stops at the first
 * that does not match (a changed fact, a changed digest, a missing or inserted entry). A
 * `log.truncated` entry must name the start in force when it was appended or a later one, and
 * the last of them the start the log has: else it says so at that entry.
 */
export function verifyChain(links: Iterable<ChainLink & { hash: string | null }>, start?: LogStart): ChainVerdict {
  const check = new ChainCheck(start);
  for (const link of links) {
    const failed = check.add(link);
    if (failed) return failed;
  }
  return check.verdict();
}

/** `verifyChain` over links an engine reads a page at a time. */
export async function verifyChainOf(links: AsyncIterable<ChainLink & { hash: string | null }>, start?: LogStart): Promise<ChainVerdict> {
  const check = new ChainCheck(start);
  for await (const link of links) {
    const failed = check.add(link);
    if (failed) return failed;
  }
  return check.verdict();
}

/** The state of a verification: links added one at a time, in seq order. */
class ChainCheck {
  private prev: string;
  private entries = 0;
  private lastSeq: number;
  /** The start the last `log.truncated` seen names (seq 1 before any). */
  private named: LogStart = { seq: 1, prev: GENESIS };

  constructor(private readonly start: LogStart = { seq: 1, prev: GENESIS }) {
    this.prev = start.prev;
    this.lastSeq = start.seq - 1;
  }

  /** Checks the next link: the failed verdict when it breaks the chain, else undefined. */
  add(link: ChainLink & { hash: string | null }): ChainVerdict | undefined {
    const { entries, lastSeq } = this;
    if (link.seq !== lastSeq + 1) return { ok: false, entries, seq: link.seq, reason: `entries ${lastSeq + 1}..${link.seq - 1} are missing` };
    if (link.problem) return { ok: false, entries, seq: link.seq, reason: link.problem };
    const expected = linkHash(this.prev, link);
    if (link.hash !== expected) return { ok: false, entries, seq: link.seq, reason: link.hash === null ? 'it has no hash' : 'its hash does not match its contents' };
    if (link.type === 'log.truncated') {
      const facts = link.facts as { before_seq?: unknown; prev_hash?: unknown };
      if (typeof facts.before_seq !== 'number' || typeof facts.prev_hash !== 'string' || facts.before_seq < this.named.seq) {
        return { ok: false, entries, seq: link.seq, reason: 'it names no start of the log, or one before an earlier truncation' };
      }
      this.named = { seq: facts.before_seq, prev: facts.prev_hash };
    }
    this.prev = expected;
    this.lastSeq = link.seq;
    this.entries += 1;
    return undefined;
  }

  /** The verdict on every link added, none having failed: the log must start where its last truncation says. */
  verdict(): ChainVerdict {
    const { start, named } = this;
    if (start.seq !== named.seq || start.prev !== named.prev) {
      const said = named.seq === 1 ? 'no truncation is in the log' : `its last truncation says it starts at ${named.seq}`;
      // every entry's hash matched: what does not is where the log starts, so none before it is vouched for
      return { ok: false, entries: 0, seq: start.seq, reason: `the log starts at entry ${start.seq}, but ${said}` };
    }
    return { ok: true, entries: this.entries, head: this.prev, ...(start.seq > 1 && { from: start }) };
  }
}
