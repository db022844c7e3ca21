import type { Context } from 'koa';
import { callNotFound, describeMoment } from '../commands/call.js';
import { logBoundsOf } from '../commands/log-bounds.js';
import { DEFAULTS } from '../config/defaults.js';
import { canRedrive, DELIVERY_STATUSES, type RedriveFacts } from '../delivery/lifecycle.js';
import type { StatusReport } from '../project/queries.js';
import type { DeadLetters } from '../project/reader.js';
import { needsAPerson } from './attention.js';
import type { ChartCounts } from './chart.js';
import type { CallMoment } from '../project/call-story.js';
import { DamagedEntryError } from '../log/damaged-entry.js';
import type { ConsoleDeps } from './index.js';
import type { Renderer } from './render.js';
import type { Session } from './session.js';
import { resultHref, type ResultLink } from '../sinks/kind.js';
import { parseDateOrDateTime } from '../dates.js';

/** Whether a row gets a Re-drive button: a dead letter, but not one of an erased call, dead before or after the erasure (nothing is left to send). */
const redrivable = (d: RedriveFacts): boolean => d.status === 'dead' && canRedrive(d).ok;

/**
 * The console's pages (README "Console"), each a GET answered from the named reads of the
 * projections, bounded by a page of rows or by one call. Forms and buttons post to `actions.ts`.
 */
export class Pages {
  private readonly cache = new Map<'status' | 'dead', { lastSeq: number; at: number; value: unknown }>();
  private readonly now: () => number;

  constructor(
    private readonly deps: ConsoleDeps,
    private readonly render: Renderer,
    private readonly chartCounts: ChartCounts,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * `status` as the overview and deliveries pages show it: read again when the log has grown,
   * at most every `DEFAULTS.console.statusCacheMs` (it counts every delivery: many open pages
   * refreshing live at each append must not each count them).
   */
  private status(): Promise<StatusReport> {
    return this.cached('status', () => this.deps.projections.status(this.deps.rules()));
  }

  /** Each sink's dead letters, re-drivable and of erased calls: read again as `status` is. */
  private deadLetters(): Promise<Record<string, DeadLetters>> {
    return this.cached('dead', () => this.deps.projections.deadLetters());
  }

  private async cached<T>(name: 'status' | 'dead', read: () => Promise<T>): Promise<T> {
    const lastSeq = await this.deps.log.lastSeq();
    const hit = this.cache.get(name);
    if (hit && (hit.lastSeq === lastSeq || this.now() - hit.at < DEFAULTS.console.statusCacheMs)) return hit.value as T;
    const value = await read();
    this.cache.set(name, { lastSeq, at: this.now(), value });
    return value;
  }

  async overview(ctx: Context, session: Session): Promise<void> {
    const status = await this.status();
    const sinks = Object.entries(status.sinks).map(([name, s]) => ({ name, ...s }));
    await this.render.page(ctx, 'overview', session, { title: 'Overview', status, sinks });
  }

  /** The chart's data: per minute over the last 24 h (see `ChartCounts`). */
  async chart(ctx: Context): Promise<void> {
    ctx.body = await this.chartCounts.activity();
  }

  async events(ctx: Context, session: Session): Promise<void> {
    const q = pick(ctx, ['call', 'event', 'type', 'since', 'until', 'before']);
    // read as the command line reads --since (zone-less is UTC), never by Date.parse, which reads it in the host's zone
    const problem = [q['since'], q['until']].some((t) => t !== undefined && parseDateOrDateTime(t) === null) ? 'since/until: write a date-time such as 2026-06-01T10:00:00Z (no zone means UTC)' : undefined;
    const before = cursor(q['before']);
    const iso = (t: string | undefined) => (t === undefined || problem ? undefined : new Date(parseDateOrDateTime(t)!).toISOString());
    const page = await this.deps.projections.eventPage({
      callId: q['call'],
      eventId: q['event'],
      eventType: q['type'],
      since: iso(q['since']),
      until: iso(q['until']),
      before,
      limit: DEFAULTS.console.pageRows,
    });
    const searched = ['call', 'event', 'type', 'since', 'until'].some((k) => q[k] !== undefined);
    await this.render.page(ctx, 'events', session, {
      title: 'Events',
      q,
      page,
      problem,
      searched,
      live: before === undefined,
      limit: DEFAULTS.console.pageRows,
      next_url: page.next === null ? null : withParam(ctx, 'before', String(page.next)),
    });
  }

  /** A call's page; a damaged entry of the call (`DamagedEntryError`) is said on the page, with a 500. */
  async call(ctx: Context, session: Session, callId: string): Promise<void> {
    try {
      await this.callPage(ctx, session, callId);
    } catch (error) {
      if (!(error instanceof DamagedEntryError)) throw error;
      ctx.status = 500;
      await this.render.page(ctx, 'events', session, { title: 'Events', q: { call: callId }, page: { rows: [], next: null }, searched: true, problem: `call ${callId} cannot be shown: ${error.message}` });
    }
  }

  private async callPage(ctx: Context, session: Session, callId: string): Promise<void> {
    const view = await this.deps.projections.call(callId);
    if (!view) {
      ctx.status = 404;
      await this.render.page(ctx, 'events', session, { title: 'Events', q: { call: callId }, page: { rows: [], next: null }, searched: true, problem: `no call ${callId} in the log${callNotFound(callId, await logBoundsOf(this.deps.log))}` });
      return;
    }
    // the full entries of the call (bounded by it): each plan's request and each event's body
    const entries = await this.deps.log.read(0, { callId });
    const requests = new Map<string, unknown>();
    const bodies = new Map<number, string>();
    for (const e of entries) {
      if (e.type === 'delivery.planned') requests.set(e.data.delivery_id, e.data.request);
      if (e.type === 'event.received') bodies.set(e.seq, prettyBody(e.data.body));
    }
    const deliveries = view.story.deliveries.map((d) => ({
      ...d,
      // every delivery of the page is the call's: erased with it when it is
      redrivable: redrivable({ ...d, call_erased: view.story.erased }),
      request: requests.get(d.delivery_id) ?? null,
      links: linksOf(d.result, this.deps.rules()?.sinks[d.sink]?.link),
      result_text: d.result ? Object.entries(d.result).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '',
    }));
    const moments = view.timeline.map((m) => {
      const [what, detail] = describeMoment(m);
      return { seq: m.seq, at: m.at, delivery_id: 'delivery_id' in m ? m.delivery_id : null, what, detail, css: cssOf(m) };
    });
    const events = view.story.events.map((e) => ({ ...e, body: bodies.get(e.seq) ?? '' }));
    await this.render.page(ctx, 'call', session, { title: `Call ${callId}`, story: view.story, deliveries, moments, events });
  }

  async deliveries(ctx: Context, session: Session): Promise<void> {
    const q = pick(ctx, ['status', 'sink', 'rule', 'call', 'event', 'before']);
    const before = cursor(q['before']);
    const { before: _, ...filters } = q;
    const [page, status, dead] = await Promise.all([
      this.deps.projections.deliveryPage({ ...filters, before, limit: DEFAULTS.console.pageRows }),
      this.status(),
      this.deadLetters(),
    ]);
    const sinks = Object.entries(status.sinks).map(([name, s]) => ({ name, ...s }));
    await this.render.page(ctx, 'deliveries', session, {
      title: 'Deliveries',
      q,
      page: { ...page, rows: page.rows.map((d) => ({ ...d, redrivable: redrivable(d) })) },
      statuses: DELIVERY_STATUSES,
      sink_names: sinks.map((s) => s.name),
      // "Re-drive all N dead" counts only what it can re-drive: not the dead letters an erasure closed
      attention: needsAPerson(status.sinks, dead),
      live: before === undefined,
      next_url: page.next === null ? null : withParam(ctx, 'before', String(page.next)),
    });
  }

  /** The rules page; `test` is a rules test's outcome to show with it (see `Actions.testRules`). */
  async rules(ctx: Context, session: Session, test: { result?: string; event_id?: string; pasted?: string } = {}): Promise<void> {
    const view = this.deps.rules();
    const path = view?.path ?? this.deps.rulesPath();
    const problems: string[] = [];
    if (path) {
      // the rules' engines load on this thread only when the rules page is asked for
      const [{ loadRules }, { formatProblem }] = await Promise.all([import('../rules/load-rules.js'), import('../rules/problem.js')]);
      const loaded = await loadRules(path, this.deps.env());
      for (const p of loaded.ok ? loaded.warnings : loaded.problems) problems.push(formatProblem(p));
    }
    const inForce = view ? { path: view.path, hash: view.hash, sinks: Object.entries(view.sinks).map(([name, s]) => ({ name, ...s })) } : null;
    await this.render.page(ctx, 'rules', session, { title: 'Rules', in_force: inForce, rules_path: path ?? '', problems, ...test });
  }
}

/** The query parameters named, trimmed, without the empty ones. */
function pick(ctx: Context, names: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of names) {
    const value = ctx.query[name];
    const text = (Array.isArray(value) ? value[0] : value)?.trim();
    if (text) out[name] = text;
  }
  return out;
}

function cursor(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** This page's URL with one parameter set (the next page's cursor). */
function withParam(ctx: Context, name: string, value: string): string {
  const params = new URLSearchParams(ctx.querystring);
  params.set(name, value);
  return `${ctx.path}?${params.toString()}`;
}

/**
 * Links to what a delivery made, as its sink kind's `resultLink` says in the rules in force: the
 * Slack message (`channel`, `ts`), a HubSpot contact (given the sink's `portal_id`).
 */
function linksOf(result: Record<string, unknown> | null, link: ResultLink | undefined): { href: string; label: string }[] {
  if (!result) return [];
  const href = link && resultHref(link, result);
  return href ? [{ href, label: link.label }] : [];
}

function cssOf(m: CallMoment): string {
  return m.kind === 'attempt' ? `attempt-${m.outcome}` : m.kind;
}

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
