import { count, plural } from '../count.js';
import { UserError } from '../errors.js';
import type { LogWriter } from '../log/seam.js';
import type { ProjectionReader } from '../project/reader.js';
import { canRedrive } from './lifecycle.js';

/** What to re-drive: deliveries by id, or every dead delivery (of one sink). */
export type RedriveRequest = { ids: string[] } | { dead: true; sink?: string };

/** What a re-drive did: the delivery ids re-driven, and (with `--dead`) the dead letters skipped because their call was erased. */
export interface Redriven {
  done: string[];
  erased: string[];
}

/**
 * `husky-relay retry` and the console's re-drive buttons (README "Console"): appends one
 * `delivery.retried` per delivery, in one transaction, through `writer` (the CLI's direct
 * writer, or `serve`'s group commit). `by` names who asked when it is not the CLI
 * (`console`); the CLI's entries have none. With `--dead`, a dead letter its call's erasure
 * closed (`closedByErasure`: its request is gone) is skipped and listed in `erased`.
 * Throws `UserError` for an unknown id, a delivery that already succeeded, or one erased with
 * its call (nothing is appended then).
 */
export async function redrive(projections: ProjectionReader, writer: LogWriter, request: RedriveRequest, by?: string): Promise<Redriven> {
  const dead = 'dead' in request;
  const rows = await projections.deliveries(dead ? { status: 'dead', sink: request.sink } : { ids: request.ids });
  if (!dead) {
    const unknown = request.ids.filter((id) => !rows.some((r) => r.delivery_id === id));
    if (unknown.length) throw new UserError(`retry: no delivery ${unknown.join(', ')} (see \`husky-relay deliveries\`)`);
  }
  const verdicts = rows.map((r) => ({ id: r.delivery_id, verdict: canRedrive(r) }));
  const refused = (why: string) => verdicts.flatMap(({ id, verdict }) => (!verdict.ok && verdict.why === why ? [id] : []));
  const succeeded = refused('succeeded');
  if (succeeded.length) throw new UserError(`retry: ${succeeded.join(', ')} already succeeded; nothing to re-drive`);
  const erased = refused('erased');
  if (!dead && erased.length) {
    throw new UserError(`retry: ${erased.join(', ')} ${plural(erased.length, 'was erased with its call', 'were erased with their calls')}; nothing to re-drive`);
  }
  const reason = dead ? `re-driven with --dead${request.sink ? ` --sink ${request.sink}` : ''}` : 're-driven by id';
  const extra = by === undefined ? {} : { by };
  const done = verdicts.flatMap(({ id, verdict }) => (verdict.ok ? [id] : []));
  if (done.length > 0) await writer.append(done.map((delivery_id) => ({ type: 'delivery.retried', data: { delivery_id, reason, ...extra } })));
  return { done, erased };
}

/** What follows a re-drive's count when it skipped erased dead letters: ` (skipped 2 deliveries erased with their calls)`; '' when none. */
export function skippedErased(erased: readonly string[]): string {
  const n = erased.length;
  return n === 0 ? '' : ` (skipped ${count(n, 'delivery', 'deliveries')} erased with ${plural(n, 'its call', 'their calls')})`;
}
