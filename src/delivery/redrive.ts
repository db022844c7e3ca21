import { count, plural } from '../count.js';
import { UserError } from '../errors.js';
import type { LogWriter } from '../log/seam.js';
import type { ProjectionReader } from '../project/reader.js';
import { unknownNameLine } from '../rules/did-you-mean.js';
import { canRedrive } from './lifecycle.js';

/**
 * What to re-drive: deliveries by id, or every dead delivery (of one sink). With a sink,
 * `knownSinks` names the sinks the rules in force declare (the log's are added to them), for the
 * refusal of a sink the relay does not know; none when absent.
 */
export type RedriveRequest = { ids: string[] } | { dead: true; sink?: string; knownSinks?: () => Promise<string[]> };

/**
 * What a re-drive did, each list in the order the ids were given (with `--dead`, newest first):
 * the delivery ids re-driven (`done`), and those not re-driven because their call was erased
 * (`erased`: closed by the erasure, or dead before or since it; with `--dead` skipped, by id refused), because they already succeeded
 * (`succeeded`, by id only) or because there is no such delivery (`unknown`, by id only).
 */
export interface Redriven {
  done: string[];
  erased: string[];
  succeeded: string[];
  unknown: string[];
}

/**
 * `husky-relay retry` and the console's re-drive buttons (README "Console"): appends one
 * `delivery.retried` per delivery that can be re-driven, in one transaction, through `writer`
 * (the CLI's direct writer, or `serve`'s group commit). `by` names who asked when it is not the
 * CLI (`console`); the CLI's entries have none. With `--dead`, a dead letter whose call was
 * erased, whether the erasure closed it or it was dead already (`closedByErasure`: its request
 * is gone), is skipped and listed in `erased`. By id, each
 * id that cannot be re-driven (unknown, already succeeded, erased with its call) is listed, and
 * the others are re-driven; when none can be, throws `UserError` (`notRedriven`'s message) and
 * appends nothing. With `--dead --sink` naming a sink neither in the rules (`knownSinks`) nor in
 * the log, throws `UserError` naming the known sinks, as `resume` does (a typo re-drove nothing,
 * and said only `re-driven: 0`).
 */
export async function redrive(projections: ProjectionReader, writer: LogWriter, request: RedriveRequest, by?: string): Promise<Redriven> {
  const dead = 'dead' in request;
  const rows = await projections.deliveries(dead ? { status: 'dead', sink: request.sink } : { ids: request.ids });
  if (dead && request.sink !== undefined && rows.length === 0) await refuseUnknownSink(projections, request.sink, request.knownSinks);
  // by id: in the order given, each once
  const ids = dead ? rows.map((r) => r.delivery_id) : [...new Set(request.ids)];
  const verdicts = ids.map((id) => {
    const row = rows.find((r) => r.delivery_id === id);
    return { id, verdict: row === undefined ? ({ ok: false, why: 'unknown' } as const) : canRedrive(row) };
  });
  const refused = (why: string) => verdicts.flatMap(({ id, verdict }) => (!verdict.ok && verdict.why === why ? [id] : []));
  const done = verdicts.flatMap(({ id, verdict }) => (verdict.ok ? [id] : []));
  const result: Redriven = { done, erased: refused('erased'), succeeded: refused('succeeded'), unknown: refused('unknown') };
  if (!dead && done.length === 0) throw new UserError(notRedriven(result)!);
  const reason = dead ? `re-driven with --dead${request.sink ? ` --sink ${request.sink}` : ''}` : 're-driven by id';
  const extra = by === undefined ? {} : { by };
  if (done.length > 0) await writer.append(done.map((delivery_id) => ({ type: 'delivery.retried', data: { delivery_id, reason, ...extra } })));
  return result;
}

/** Throws the `UserError` of a `--dead --sink` naming a sink neither `knownSinks` nor the log's deliveries know. */
async function refuseUnknownSink(projections: ProjectionReader, sink: string, knownSinks: () => Promise<string[]> = async () => []): Promise<void> {
  const [inRules, inLog] = await Promise.all([knownSinks(), projections.names()]);
  const known = [...new Set([...inRules, ...inLog.sinks])].sort();
  const unknown = unknownNameLine('sink', 'sinks', sink, known, ' in the rules or the log');
  if (unknown !== null) throw new UserError(`retry: ${unknown}`);
}

/**
 * What `retry ID…` says of the ids it did not re-drive, as one line after `retry: `, each named
 * with why: `no delivery X (see …); B already succeeded; A was erased with its call; nothing to
 * re-drive`. Null when every id was re-driven. (With `--dead` nothing is refused: see `skippedErased`.)
 */
export function notRedriven(r: Pick<Redriven, 'erased' | 'succeeded' | 'unknown'>): string | null {
  const clauses = [
    r.unknown.length ? `no delivery ${r.unknown.join(', ')} (see \`husky-relay deliveries\`)` : null,
    r.succeeded.length ? `${r.succeeded.join(', ')} already succeeded` : null,
    r.erased.length ? `${r.erased.join(', ')} ${plural(r.erased.length, 'was erased with its call', 'were erased with their calls')}` : null,
  ].filter((c): c is string => c !== null);
  if (clauses.length === 0) return null;
  const nothing = r.succeeded.length + r.erased.length > 0 ? '; nothing to re-drive' : '';
  return `retry: ${clauses.join('; ')}${nothing}`;
}

/** What follows a re-drive's count when it skipped erased dead letters: ` (skipped 2 deliveries erased with their calls)`; '' when none. */
export function skippedErased(erased: readonly string[]): string {
  const n = erased.length;
  return n === 0 ? '' : ` (skipped ${count(n, 'delivery', 'deliveries')} erased with ${plural(n, 'its call', 'their calls')})`;
}
