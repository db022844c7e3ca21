import type { Context, Next } from 'koa';
import getRawBody from 'raw-body';
import { logBoundsOf, notOperatorEvent, operatorSeq } from '../commands/log-bounds.js';
import { DEFAULTS } from '../config/defaults.js';
import { count } from '../count.js';
import { redrive, skippedErased } from '../delivery/redrive.js';
import { resumeSink } from '../delivery/resume-sink.js';
import { UserError } from '../errors.js';
import { isOperatorEventType, type Entry } from '../log/types.js';
import { spawnWorker } from '../spawn-worker.js';
import type { ConsoleDeps } from './index.js';
import type { RulesTestJob } from './rules-test-worker.js';
import type { Pages } from './pages.js';
import type { Renderer } from './render.js';
import type { Session, Sessions } from './session.js';
import { tokenMatches } from './token.js';

/** Who the console's entries name (README "Console"): `delivery.retried` and `sink.resumed` carry `by: "console"`. */
const BY = 'console';

/** The parsed form of a POST (`application/x-www-form-urlencoded`), set by `parseForm`. */
export function formOf(ctx: Context): URLSearchParams {
  return (ctx.state['form'] as URLSearchParams | undefined) ?? new URLSearchParams();
}

/** Koa middleware: reads a POST's form, at most `DEFAULTS.console.maxFormBytes` (else 413). */
export async function parseForm(ctx: Context, next: Next): Promise<void> {
  if (ctx.method === 'POST') {
    const text = ctx.is('application/x-www-form-urlencoded')
      ? await getRawBody(ctx.req, { limit: DEFAULTS.console.maxFormBytes, encoding: 'utf8' }).catch((error: { status?: number }) => {
          ctx.throw(error.status === 413 ? 413 : 400, 'the form could not be read');
        })
      : '';
    const form = new URLSearchParams(text ?? '');
    if ([...form.values()].some((value) => value.includes('\u0000'))) {
      ctx.status = 400;
      ctx.type = 'text/plain';
      ctx.body = 'the form holds U+0000';
      return;
    }
    ctx.state['form'] = form;
  }
  await next();
}

/**
 * What the console's buttons and forms do. Re-drive and resume are the CLI's own functions
 * (`delivery/redrive.ts`, `delivery/resume-sink.ts`) appending through `serve`'s writer, with
 * `by: "console"`; each answers with a redirect back to the page (post/redirect/get) and a
 * one-line message on it. A refusal (already succeeded, erased with its call, not paused) is that message.
 */
export class Actions {
  constructor(
    private readonly deps: ConsoleDeps,
    private readonly sessions: Sessions,
    private readonly render: Renderer,
    private readonly pages: Pages,
  ) {}

  /** Sign-in: the token compared in constant time; wrong tokens counted per client address (429 past the limit). */
  async signIn(ctx: Context): Promise<void> {
    const blocked = this.sessions.blockedFor(ctx.ip);
    if (blocked > 0) {
      ctx.status = 429;
      ctx.set('Retry-After', String(Math.ceil(blocked / 1000)));
      const minutes = Math.ceil(blocked / 60_000);
      await this.render.page(ctx, 'login', this.sessions.ensure(ctx), { title: 'Sign in', problem: `Too many wrong tokens: try again in ${count(minutes, 'minute', 'minutes')}.` });
      return;
    }
    const given = formOf(ctx).get('token') ?? '';
    if (!tokenMatches(this.deps.token, given)) {
      this.sessions.failed(ctx.ip);
      // the address and nothing of what was typed: a token pasted into the wrong field must not reach the log
      this.deps.logger.warn({ address: ctx.ip }, 'console: a sign-in with a wrong token was refused');
      ctx.status = 401;
      await this.render.page(ctx, 'login', this.sessions.ensure(ctx), { title: 'Sign in', problem: 'That is not the console token.' });
      return;
    }
    this.sessions.start(ctx, true);
    ctx.redirect('/ui/');
    ctx.status = 303;
  }

  signOut(ctx: Context): void {
    this.sessions.end(ctx);
    ctx.redirect('/ui/login');
    ctx.status = 303;
  }

  /** Re-drives one delivery (`retry ID`). */
  async redriveOne(ctx: Context, session: Session, deliveryId: string): Promise<void> {
    await this.act(ctx, session, async () => {
      await redrive(this.deps.projections, this.deps.writer, { ids: [deliveryId] }, BY);
      return `re-driven: ${deliveryId}`;
    });
  }

  /** Re-drives every dead delivery of a sink (`retry --dead --sink SINK`), but those erased with their call (counted in the message). */
  async redriveDead(ctx: Context, session: Session, sink: string): Promise<void> {
    await this.act(ctx, session, async () => {
      const knownSinks = async () => Object.keys(this.deps.rules()?.sinks ?? {});
      const { done, erased } = await redrive(this.deps.projections, this.deps.writer, { dead: true, sink, knownSinks }, BY);
      return `re-driven: ${count(done.length, 'dead delivery', 'dead deliveries')} of ${sink}${skippedErased(erased)}`;
    });
  }

  /** Resumes a paused sink (`resume SINK`). */
  async resume(ctx: Context, session: Session, sink: string): Promise<void> {
    await this.act(ctx, session, async () => {
      const known = async () => Object.keys(this.deps.rules()?.sinks ?? {});
      const state = await resumeSink(this.deps.projections, this.deps.writer, sink, known, BY);
      return `resumed: ${sink} (paused since ${state.at}: ${state.reason})`;
    });
  }

  /** `rules test` against a logged event (by id) or a pasted one; the outcome is shown on the rules page. */
  async testRules(ctx: Context, session: Session): Promise<void> {
    const form = formOf(ctx);
    const eventId = form.get('event_id')?.trim() ?? '';
    const pasted = form.get('event') ?? '';
    const lines: string[] = [];
    const path = this.deps.rules()?.path ?? this.deps.rulesPath();
    let text: string | undefined = pasted.trim() ? pasted : undefined;
    let where = 'the pasted event';
    if (eventId) {
      const entry = await this.loggedEvent(eventId);
      if (typeof entry !== 'string') text = JSON.stringify({ seq: entry.seq, type: entry.type, at: entry.at, data: entry.data });
      else lines.push(`no event ${eventId} in the log${entry}`);
      where = `event ${eventId}`;
    }
    if (!path) lines.push('no rules file: start serve with --rules');
    else if (text !== undefined) lines.push(...(await rulesTestThread({ path, env: this.deps.env(), text, where })));
    else if (!eventId) lines.push('name a logged event id, or paste an event');
    await this.pages.rules(ctx, session, { result: lines.join('\n'), event_id: eventId, pasted });
  }

  /**
   * The logged event a rules test names: an operator event by the id its alerts carry (`op-SEQ`),
   * else a call event by its id (HuskyVoice may send an id such as `op-7` too: when entry 7 is
   * an operator event, that one is tested; the call event can be pasted); when there is none,
   * why, as `: REASON` (past the log's end, say), or ''.
   */
  private async loggedEvent(eventId: string): Promise<Entry | string> {
    const seq = operatorSeq(eventId);
    if (seq !== null) {
      const [entry] = await this.deps.log.read(seq - 1, { limit: 1 });
      if (entry?.seq === seq && isOperatorEventType(entry.type)) return entry;
    }
    const [entry] = (await this.deps.log.read(0, { eventId, types: ['event.received'], limit: 1 })).filter((e) => e.type === 'event.received');
    return entry ?? (seq === null ? '' : notOperatorEvent(seq, await logBoundsOf(this.deps.log)));
  }

  /** Runs an action; its message (or the user error that refused it) is flashed on the page it came from. */
  private async act(ctx: Context, session: Session, action: () => Promise<string>): Promise<void> {
    try {
      session.flash = await action();
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      session.flash = error.message;
    }
    const back = formOf(ctx).get('back') ?? '';
    // only back into the console: a form cannot send the browser elsewhere
    ctx.redirect(/^\/ui\/(?![/\\])/.test(back) ? back : '/ui/deliveries');
    ctx.status = 303;
  }
}

/** Runs a `rules test` on a thread of its own (see rules-test-worker.ts): its lines. */
function rulesTestThread(job: RulesTestJob): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = spawnWorker(new URL('./rules-test-worker.js', import.meta.url), job);
    worker.once('message', (lines: string[]) => resolve(lines));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the rules test thread ended (exit ${code}) without an answer`)));
  });
}
