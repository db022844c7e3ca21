import type { DeliveryRow } from '../../src/project/queries.js';
import { runCli } from '../../testing/child.js';

/**
 * After the stream: what the log says, read through the public CLI (`log --json`,
 * `deliveries --json`) the way an operator would, compared with what the sender knows.
 */

export interface Audit {
  eventsInLog: number;
  /** Acked with 200 but not in the log: must be 0. */
  ackedMissing: number;
  planned: number;
  expectedPlanned: number;
  /** Deliveries the rules call for that were never planned: must be 0. */
  unplanned: number;
  byStatus: Record<DeliveryRow['status'], number>;
  bySink: Record<string, Record<DeliveryRow['status'], number>>;
  /** Lost = ackedMissing + unplanned + still pending (neither succeeded, dead nor retrying). */
  lost: number;
  deadReasons: Record<string, number>;
}

export async function audit(env: NodeJS.ProcessEnv, acked: Set<string>, expectedFor: (eventType: string) => number): Promise<Audit> {
  const events = await runCli(['log', '--json', '--type', 'event.received'], env, 300_000);
  if (events.code !== 0) throw new Error(`husky-relay log --json failed: ${events.stderr}`);
  const eventTypes = new Map<string, string>();
  for (const line of events.stdout.split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { data: { event_id: string; event_type: string } };
    eventTypes.set(entry.data.event_id, entry.data.event_type);
  }

  const listed = await runCli(['deliveries', '--json', '--limit', '1000000000'], env, 300_000);
  if (listed.code !== 0) throw new Error(`husky-relay deliveries --json failed: ${listed.stderr}`);
  const rows = JSON.parse(listed.stdout) as DeliveryRow[];

  const zero = () => ({ pending: 0, retrying: 0, succeeded: 0, dead: 0 });
  const byStatus = zero();
  const bySink: Audit['bySink'] = {};
  const plannedFor = new Map<string, number>();
  const deadReasons: Record<string, number> = {};
  for (const row of rows) {
    byStatus[row.status] += 1;
    (bySink[row.sink] ??= zero())[row.status] += 1;
    plannedFor.set(row.event_id, (plannedFor.get(row.event_id) ?? 0) + 1);
    if (row.status === 'dead') {
      const reason = row.last_error ? `${String(row.last_error['kind'])} ${String(row.last_error['code'])}` : 'unknown';
      deadReasons[reason] = (deadReasons[reason] ?? 0) + 1;
    }
  }

  let ackedMissing = 0;
  for (const id of acked) if (!eventTypes.has(id)) ackedMissing += 1;
  let expectedPlanned = 0;
  let unplanned = 0;
  for (const [id, type] of eventTypes) {
    const expected = expectedFor(type);
    expectedPlanned += expected;
    unplanned += Math.max(0, expected - (plannedFor.get(id) ?? 0));
  }
  return {
    eventsInLog: eventTypes.size,
    ackedMissing,
    planned: rows.length,
    expectedPlanned,
    unplanned,
    byStatus,
    bySink,
    lost: ackedMissing + unplanned + byStatus.pending,
    deadReasons,
  };
}
