import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type { Logger } from 'pino';
import { DEFAULTS } from '../config/defaults.js';
import { ReadsUnavailableError } from '../errors.js';
import type { LogReader, LogWriter } from '../log/seam.js';
import type { ProjectionReader } from '../project/reader.js';
import type { RulesView } from '../pipeline/protocol.js';
import { Actions, formOf, parseForm } from './actions.js';
import { assetNamed, loadAssets } from './assets.js';
import { ChartCounts } from './chart.js';
import { Pages } from './pages.js';
import { Renderer } from './render.js';
import { requireCsrf, Sessions, type Session, type SessionOptions } from './session.js';
import { LiveUpdates } from './sse.js';
import { DamagedEntryError } from '../log/damaged-entry.js';

/** What the console reads and appends through: `serve`'s own store, group commit and pipeline. */
export interface ConsoleDeps {
  projections: ProjectionReader;
  log: LogReader;
  /** `serve`'s group commit: the console's entries are appended like every other. */
  writer: LogWriter;
  /** The rules in force (the pipeline thread's view); null when none has loaded. */
  rules: () => RulesView | null;
  /** The rules file `serve` was given, for the rules page while none is in force. */
  rulesPath: () => string | undefined;
  /** The environment `${VAR}` in the rules file reads, for the rules page's check and test. */
  env: () => Record<string, string | undefined>;
  /** The console token (`token.ts`). */
  token: string;
  logger: Logger;
  /** Epoch ms now: sessions, the rate limit, the chart's window. (Default: `Date.now`) */
  now?: () => number;
  /** How often live updates look for new entries. (Default: `DEFAULTS.console.livePollMs`) */
  livePollMs?: number;
  /** Sessions and rate limit tuning (tests). */
  sessions?: SessionOptions;
}

/** The console as `serve` mounts it. */
export interface WebConsole {
  /** Answers `/ui` and everything under `/ui/`; passes every other request on. */
  middleware: Middleware;
  /** Ends the live-update streams, so a stop does not wait for open pages. */
  close(): void;
}

/**
 * The Content-Security-Policy of every console answer: scripts and styles from the relay only
 * (no inline script, no eval: htmx runs with `allowEval: false`, its indicator styles off), no
 * frames, forms posting back to the console only.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * The web console under `/ui/` (README "Console"): sign-in with the console token, the pages,
 * the actions, the assets and the live stream. Nothing of it is on the webhook's path.
 */
export function createConsole(deps: ConsoleDeps): WebConsole {
  const assets = loadAssets();
  const sessions = new Sessions({ now: deps.now, ...deps.sessions });
  const render = new Renderer(assets, sessions);
  const chart = new ChartCounts(deps.projections, deps.now ?? Date.now);
  void chart.warm(); // the day's counts, an hour per turn of the event loop, before anyone asks
  const pages = new Pages(deps, render, chart);
  const actions = new Actions(deps, sessions, render, pages);
  const live = new LiveUpdates(deps.log, deps.livePollMs ?? DEFAULTS.console.livePollMs, DEFAULTS.console.statusCacheMs);
  const router = new Router({ prefix: '/ui' });

  /** The handler, for a signed-in session only: others go to the sign-in page (a GET) or get 401. */
  const signedIn =
    (handler: (ctx: Context, session: Session) => Promise<void> | void) =>
    async (ctx: Context): Promise<void> => {
      const session = sessions.current(ctx);
      if (session?.signedIn) return handler(ctx, session);
      if (ctx.method === 'GET' && ctx.get('hx-request') !== 'true') {
        ctx.redirect('/ui/login');
        return;
      }
      ctx.status = 401;
      ctx.type = 'text/plain';
      ctx.body = 'sign in first: /ui/login';
    };
  const param = (ctx: Context, name: string) => String((ctx.params as Record<string, string>)[name] ?? '');

  router.get('/login', async (ctx) => {
    if (sessions.current(ctx)?.signedIn) return ctx.redirect('/ui/');
    await render.page(ctx, 'login', sessions.ensure(ctx), { title: 'Sign in' });
  });
  router.post('/login', (ctx) => actions.signIn(ctx));
  router.post('/logout', (ctx) => actions.signOut(ctx));
  router.get('/assets/:name', (ctx) => {
    const asset = assetNamed(assets, param(ctx, 'name'));
    if (!asset) return;
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.body = asset.body;
  });
  router.get('/', signedIn((ctx, s) => pages.overview(ctx, s)));
  router.get('/chart.json', signedIn((ctx) => pages.chart(ctx)));
  router.get('/events', signedIn((ctx, s) => pages.events(ctx, s)));
  router.get('/calls/:id', signedIn((ctx, s) => pages.call(ctx, s, param(ctx, 'id'))));
  router.get('/deliveries', signedIn((ctx, s) => pages.deliveries(ctx, s)));
  router.get('/rules', signedIn((ctx, s) => pages.rules(ctx, s)));
  router.get('/stream', signedIn((ctx) => live.open(ctx)));
  router.post('/deliveries/:id/redrive', signedIn((ctx, s) => actions.redriveOne(ctx, s, param(ctx, 'id'))));
  router.post('/sinks/:sink/redrive-dead', signedIn((ctx, s) => actions.redriveDead(ctx, s, param(ctx, 'sink'))));
  router.post('/sinks/:sink/resume', signedIn((ctx, s) => actions.resume(ctx, s, param(ctx, 'sink'))));
  router.post('/rules/test', signedIn((ctx, s) => actions.testRules(ctx, s)));

  const routes = router.routes() as unknown as Middleware;
  const csrf = requireCsrf(sessions, (ctx) => formOf(ctx).get('_csrf'));
  const middleware: Middleware = async (ctx, next: Next) => {
    if (ctx.path === '/ui') return ctx.redirect('/ui/');
    if (!ctx.path.startsWith('/ui/')) return next();
    ctx.set({
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    });
    // U+0000 names nothing in the log (ingest refuses it in names), and PostgreSQL's text refuses
    // it in a parameter: refused here, once, for every page's address and form
    if (/%00/i.test(ctx.url)) {
      ctx.status = 400;
      ctx.body = { error: 'bad_request', message: 'the address holds U+0000 (%00)' };
      return;
    }
    try {
      await parseForm(ctx, () => csrf(ctx, () => routes(ctx, next)));
    } catch (error) {
      if (error instanceof DamagedEntryError) {
        // a page that reads a damaged entry: what and what to do, not a bare 500
        deps.logger.error({ path: ctx.path, seqs: error.seqs }, error.message);
        ctx.status = 500;
        ctx.type = 'text/plain';
        ctx.body = `${error.message}\n`;
        return;
      }
      if (!(error instanceof ReadsUnavailableError)) throw error;
      // the read thread is full, stuck or starting again: the page may ask again shortly
      deps.logger.warn({ path: ctx.path, reason: error.message }, 'console: a read was refused (503 reads_unavailable)');
      ctx.status = 503;
      ctx.set('Retry-After', String(error.retryAfterSeconds));
      ctx.body = { error: 'reads_unavailable' };
    }
  };
  return {
    middleware,
    close: () => {
      chart.stop();
      live.close();
    },
  };
}
