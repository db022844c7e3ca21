import { UserError } from '../errors.js';
import type { LogWriter } from '../log/seam.js';
import type { ProjectionReader } from '../project/reader.js';
import { canRedrive } from './lifecycle.js';

/** What to re-drive: deliveries by id, or every dead delivery (of one sink). */
export type RedriveRequest = { ids: string[] } | { dead: true; sink?: string };

/**
 * `husky-relay retry` and the console's re-drive buttons (README "Console"): appends one
 * `delivery.retried` per delivery, in one transaction, through `writer` (the CLI's direct
 * writer, or `serve`'s group commit). `by` names who asked when it is not the CLI
 * (`console`); the CLI's entries have none. Resolves with the re-driven delivery ids.
 * Throws `UserError` for an unknown id or a delivery that already succeeded (nothing is
 * appended then).
 */
export async function redrive(projections: ProjectionReader, writer: LogWriter, request: RedriveRequest, by?: string): Promise<string[]> {
  const dead = 'dead' in request;
  const rows = await projections.deliveries(dead ? { status: 'dead', sink: request.sink } : { ids: request.ids });
  if (!dead) {
    const unknown = request.ids.filter((id) => !rows.some((r) => r.delivery_id === id));
    if (unknown.length) throw new UserError(`retry: no delivery ${unknown.join(', ')} (see \`husky-relay deliveries\`)`);
  }
  const done = rows.filter((r) => !canRedrive(r).ok);
  if (done.length) throw new UserError(`retry: ${done.map((r) => r.delivery_id).join(', ')} already succeeded; nothing to re-drive`);
  const reason = dead ? `re-driven with --dead${request.sink ? ` --sink ${request.sink}` : ''}` : 're-driven by id';
  const extra = by === undefined ? {} : { by };
  if (rows.length > 0) await writer.append(rows.map((r) => ({ type: 'delivery.retried', data: { delivery_id: r.delivery_id, reason, ...extra } })));
  return rows.map((r) => r.delivery_id);
}
