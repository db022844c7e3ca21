import { describe, expect, it } from 'vitest';
import { canRedrive, closedByErasure, ERASURE_DEAD_REASON, REDRIVABLE_DEAD_SQL, type DeliveryStatus } from '../../src/delivery/lifecycle.js';
import { redrive } from '../../src/delivery/redrive.js';
import type { NewEntry } from '../../src/log/types.js';
import { GAUGE_SQL } from '../../src/project/gauges.js';
import { engineQuery, ENGINES, useEngineStore } from '../helpers/engines.js';
import { receivedEntry } from '../helpers/entries.js';

/**
 * Which dead letters a person can re-drive is said twice (README "Erasure", "Re-drive"): in SQL,
 * `REDRIVABLE_DEAD_SQL` (the dead gauge, the console's "Re-drive all N dead"), and in JS,
 * `closedByErasure` (`retry`, `retry --dead`, the console's buttons). On every engine they must
 * pick the same deliveries, over dead letters of every history an erasure can meet: a dead
 * letter of an erased call is re-driven by nobody, whenever it died.
 */
const AT = '2026-06-01T10:00:00.000Z';
const ERASE = { reason: 'request', by: 'test', downstream: false } as const;

const failed = (id: string, attempt: number, code: string, retryAt: string | null = null): NewEntry => ({
  type: 'delivery.attempted',
  data: { delivery_id: id, attempt, outcome: 'failed', duration_ms: 5, error: { kind: retryAt ? 'transient' : 'permanent', code, message: code }, retry_at: retryAt, result: null },
});
const dead = (id: string, reason: string): NewEntry => ({ type: 'delivery.dead', data: { delivery_id: id, reason } });
const retried = (id: string): NewEntry => ({ type: 'delivery.retried', data: { delivery_id: id, reason: 're-driven by id' } });

const LOOK_ALIKE = `gave up after 2 failed attempts; last: ${ERASURE_DEAD_REASON}`;
/**
 * Delivery rows as the projection may hold them: each status and dead reason, without and with
 * its call's erased mark, and what `retry` answers of each. The erasure's dead letter without the
 * mark is one read after retention removed the mark with the `call.erased` entry (the row stays):
 * its reason is then all that says its call was erased.
 */
type Verdict = 'ok' | 'erased' | 'succeeded';
const TABLE: Record<string, [status: DeliveryStatus, reason: string | null, unmarked: Verdict, marked: Verdict]> = {
  pending: ['pending', null, 'ok', 'erased'],
  retrying: ['retrying', null, 'ok', 'erased'],
  succeeded: ['succeeded', null, 'succeeded', 'succeeded'],
  http404: ['dead', 'http_404: HTTP 404', 'ok', 'erased'],
  erasure: ['dead', ERASURE_DEAD_REASON, 'erased', 'erased'],
  lookalike: ['dead', LOOK_ALIKE, 'ok', 'erased'],
  noreason: ['dead', null, 'ok', 'erased'],
};
/** The table's rows, one delivery each: `t_NAME` of an unerased call, `t_NAME_x` of an erased one. */
const ROWS = Object.entries(TABLE).flatMap(([name, [status, reason, unmarked, marked]]) => [
  { id: `t_${name}`, status, reason, marked: false, retry: unmarked },
  { id: `t_${name}_x`, status, reason, marked: true, retry: marked },
]);

describe.each(ENGINES)('re-drivable dead letters on %s: REDRIVABLE_DEAD_SQL and closedByErasure agree', (engine) => {
  const log = useEngineStore(engine, { at: AT });

  /** Plans delivery `id` to `sink` for a new event of `callId`. */
  async function plan(id: string, callId: string, sink = 'hook'): Promise<void> {
    const [ev] = await log.store.writer.append([receivedEntry({ event_id: `evt_${id}`, call_id: callId })]);
    await log.store.writer.append([
      {
        type: 'delivery.planned',
        data: { delivery_id: id, event_id: `evt_${id}`, event_seq: ev!.seq!, event_type: 'call.completed', call_id: callId, rule_id: 'r', action_index: 0, sink, request: { body: {} }, order_key: null, rules_hash: 'h' },
      },
    ]);
  }

  it('over erased, permanent, exhausted, re-driven then erased, dead before its erasure, and look-alike dead letters', async () => {
    // Given dead letters of every kind
    for (const [id, call, sink] of [
      ['d_erased', 'call_e', 'hook'], ['d_perm', 'call_k', 'hook'], ['d_exh', 'call_k', 'hook'], ['d_redead', 'call_r', 'hook'], ['d_before', 'call_b', 'hook'],
      ['d_inflight', 'call_f', 'hook'], ['d_after', 'call_a', 'hook'], ['d_like', 'call_k', 'hook'], ['d_null', 'call_k', 'hook'], ['d_open', 'call_k', 'hook'], ['d_other', 'call_o', 'other'],
    ] as const) await plan(id, call, sink);
    await log.store.writer.append([failed('d_perm', 1, 'http_404'), dead('d_perm', 'http_404: HTTP 404')]);
    await log.store.writer.append([failed('d_exh', 1, 'http_503'), dead('d_exh', 'gave up after 1 failed attempts; last: http_503: HTTP 503')]);
    // re-driven, then its call erased while it waited again: the erasure closes it
    await log.store.writer.append([failed('d_redead', 1, 'http_404'), dead('d_redead', 'http_404: HTTP 404'), retried('d_redead')]);
    // dead for another reason before its call was erased: its request went with the call, nothing to re-drive
    await log.store.writer.append([failed('d_before', 1, 'http_404'), dead('d_before', 'http_404: HTTP 404')]);
    // a reason that quotes the erasure's without being it, and a dead row without a reason (as an old projection may hold)
    await log.store.writer.append([failed('d_like', 1, 'erased'), dead('d_like', `gave up after 2 failed attempts; last: ${ERASURE_DEAD_REASON}`)]);
    await log.store.writer.append([failed('d_null', 1, 'http_410'), dead('d_null', 'http_410: HTTP 410')]);
    await log.store.privacy.erase({ callIds: ['call_e', 'call_r', 'call_b', 'call_f', 'call_o', 'call_a'], ...ERASE });
    // an attempt in flight at the erasure ends dead for another reason (a 404): its call is erased all the same
    await log.store.writer.append([failed('d_after', 1, 'http_404'), dead('d_after', 'http_404: HTTP 404')]);
    // an attempt in flight at the erasure ends with a retry time, and the next one ends it dead again (README "Erasure")
    await log.store.writer.append([failed('d_inflight', 1, 'http_503', '2026-06-01T11:00:00.000Z')]);
    await log.store.writer.append([failed('d_inflight', 2, 'erased'), dead('d_inflight', ERASURE_DEAD_REASON)]);
    await log.fx.raw(`UPDATE p_deliveries SET dead_reason = NULL WHERE delivery_id = 'd_null'`);

    // When the dead letters are picked in SQL and in JS
    const bySql = (await engineQuery(log.fx.location, `SELECT delivery_id FROM p_deliveries WHERE ${REDRIVABLE_DEAD_SQL} ORDER BY delivery_id`)).map((r) => r['delivery_id']);
    const rows = (await log.store.projections.deliveries()).sort((a, b) => a.delivery_id.localeCompare(b.delivery_id));
    const byJs = rows.filter((r) => r.status === 'dead' && !closedByErasure(r)).map((r) => r.delivery_id);
    const erased = rows.filter(closedByErasure).map((r) => r.delivery_id);

    // Then they agree, and are the ones README says
    expect(bySql).toEqual(byJs);
    expect(byJs).toEqual(['d_exh', 'd_like', 'd_null', 'd_perm']);
    expect(erased).toEqual(['d_after', 'd_before', 'd_erased', 'd_inflight', 'd_other', 'd_redead']);
    expect(rows.filter((r) => r.status === 'dead')).toHaveLength(byJs.length + erased.length);
    // and every count made of them agrees: the dead gauge, the console's dead letters by sink
    const gauge = (await engineQuery(log.fx.location, GAUGE_SQL.bySink)).filter((r) => r['status'] === 'dead').map((r) => [r['sink'], Number(r['n'])]);
    expect(gauge).toEqual([['hook', 4]]);
    expect(await log.store.projections.deadLetters()).toEqual({ hook: { redrivable: 4, erased: 5 }, other: { redrivable: 0, erased: 1 } });
    // and so does retry --dead (canRedrive), re-driving the one and skipping the other
    const redriven = await redrive(log.store.projections, log.store.writer, { dead: true });
    expect([[...redriven.done].sort(), [...redriven.erased].sort()]).toEqual([byJs, erased]);
    expect(await log.store.projections.deadLetters()).toEqual({ hook: { redrivable: 0, erased: 5 }, other: { redrivable: 0, erased: 1 } });
  });

  it('over a table of rows (every status, reason and erased mark, and an erasure\'s dead letter whose mark retention removed): the SQL and retry pick the same dead letters', async () => {
    // Given delivery rows of every status, dead reason and erased mark
    for (const { id, marked } of ROWS) await plan(id, marked ? `call_x_${id}` : `call_${id}`);
    await log.store.privacy.erase({ callIds: ROWS.filter((r) => r.marked).map((r) => `call_x_${r.id}`), ...ERASE });
    for (const { id, status, reason } of ROWS) {
      await log.fx.raw(`UPDATE p_deliveries SET status = '${status}', dead_reason = ${reason === null ? 'NULL' : `'${reason.replaceAll("'", "''")}'`} WHERE delivery_id = '${id}'`);
    }
    // When the dead letters a person can re-drive are picked in SQL (the dead gauge, the console's count) and in JS (retry)
    const bySql = (await engineQuery(log.fx.location, `SELECT delivery_id FROM p_deliveries WHERE ${REDRIVABLE_DEAD_SQL} ORDER BY delivery_id`)).map((r) => r['delivery_id']);
    const rows = (await log.store.projections.deliveries()).sort((a, b) => a.delivery_id.localeCompare(b.delivery_id));
    const verdict = (r: (typeof rows)[number]): Verdict => {
      const answer = canRedrive(r);
      return answer.ok ? 'ok' : answer.why;
    };

    // Then retry answers as the table says, row by row
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect(rows.map((r) => ({ id: r.delivery_id, status: r.status, reason: r.dead_reason, marked: r.call_erased, retry: verdict(r) }))).toEqual([...ROWS].sort(byId));
    // and the SQL picks the dead letters retry re-drives, no more, no fewer; the rest of the dead are closedByErasure's
    expect(bySql).toEqual(['t_http404', 't_lookalike', 't_noreason']);
    expect(rows.filter((r) => r.status === 'dead' && verdict(r) === 'ok').map((r) => r.delivery_id)).toEqual(bySql);
    expect(rows.filter(closedByErasure).map((r) => r.delivery_id)).toEqual(['t_erasure', 't_erasure_x', 't_http404_x', 't_lookalike_x', 't_noreason_x']);
  });

  it('a dead letter whose call is erased after it died, or that dies after its erasure for another reason, is re-driven by nobody', async () => {
    // Given a dead letter (404) of one call, and an open delivery of another whose attempt in flight at the erasure ends dead (404)
    await plan('d_before', 'call_b');
    await plan('d_after', 'call_a');
    await plan('d_kept', 'call_k', 'other');
    await log.store.writer.append([failed('d_before', 1, 'http_404'), dead('d_before', 'http_404: HTTP 404')]);
    await log.store.writer.append([failed('d_kept', 1, 'http_404'), dead('d_kept', 'http_404: HTTP 404')]);
    // When both calls are erased
    const erasure = await log.store.privacy.erase({ callIds: ['call_b', 'call_a'], ...ERASE });
    expect(erasure.calls.map((c) => [c.call_id, c.closed])).toEqual([['call_b', 0], ['call_a', 1]]);
    await log.store.writer.append([failed('d_after', 1, 'http_404'), dead('d_after', 'http_404: HTTP 404')]);
    const ofErased = (await log.store.projections.deliveries({ sink: 'hook' })).map((r) => [r.delivery_id, r.status, r.dead_reason]);
    expect(ofErased).toEqual([['d_after', 'dead', 'http_404: HTTP 404'], ['d_before', 'dead', 'http_404: HTTP 404']]);

    // Then neither counts as re-drivable: not in the SQL, nor the dead gauge, nor the dead letters by sink (the console's "Needs a person")
    expect(await engineQuery(log.fx.location, `SELECT delivery_id FROM p_deliveries WHERE ${REDRIVABLE_DEAD_SQL} ORDER BY delivery_id`)).toEqual([{ delivery_id: 'd_kept' }]);
    const gauge = (await engineQuery(log.fx.location, GAUGE_SQL.bySink)).filter((r) => r['status'] === 'dead').map((r) => [r['sink'], Number(r['n'])]);
    expect(gauge).toEqual([['other', 1]]);
    expect(await log.store.projections.deadLetters()).toEqual({ hook: { redrivable: 0, erased: 2 }, other: { redrivable: 1, erased: 0 } });
    // and retry --dead --sink hook re-drives none of them, naming them as erased; retry by id refuses each, saying why, and appends nothing
    expect(await redrive(log.store.projections, log.store.writer, { dead: true, sink: 'hook' })).toEqual({ done: [], erased: ['d_after', 'd_before'], succeeded: [], unknown: [] });
    await expect(redrive(log.store.projections, log.store.writer, { ids: ['d_before', 'd_after'] })).rejects.toThrow(
      'retry: d_before, d_after were erased with their calls; nothing to re-drive',
    );
    expect(await log.store.log.read(0, { types: ['delivery.retried'] })).toEqual([]);
  });

  it('retry by id re-drives those it can and names each of the others with why: erased, succeeded, unknown', async () => {
    // Given a dead letter an erasure closed, a re-drivable dead letter and a success
    for (const id of ['d_gone', 'd_dead', 'd_ok']) await plan(id, id === 'd_gone' ? 'call_gone' : 'call_k');
    await log.store.writer.append([failed('d_dead', 1, 'http_404'), dead('d_dead', 'http_404: HTTP 404')]);
    await log.store.writer.append([{ type: 'delivery.attempted', data: { delivery_id: 'd_ok', attempt: 1, outcome: 'succeeded', duration_ms: 5, error: null, retry_at: null, result: {} } }]);
    await log.store.privacy.erase({ callIds: ['call_gone'], ...ERASE });
    // When every one of them is re-driven by id, with an unknown one: the one it can is re-driven, each other is named
    expect(await redrive(log.store.projections, log.store.writer, { ids: ['d_gone', 'd_dead', 'd_ok', 'd_nope'] })).toEqual({
      done: ['d_dead'],
      erased: ['d_gone'],
      succeeded: ['d_ok'],
      unknown: ['d_nope'],
    });
    expect((await log.store.log.read(0, { types: ['delivery.retried'] })).map((e) => e.data)).toEqual([{ delivery_id: 'd_dead', reason: 're-driven by id' }]);
    // And when none can be, nothing is appended and every id is named in the refusal
    await expect(redrive(log.store.projections, log.store.writer, { ids: ['d_gone', 'd_ok', 'd_nope'] })).rejects.toThrow(
      'retry: no delivery d_nope (see `husky-relay deliveries`); d_ok already succeeded; d_gone was erased with its call; nothing to re-drive',
    );
    expect(await log.store.log.read(0, { types: ['delivery.retried'] })).toHaveLength(1);
  });
});
