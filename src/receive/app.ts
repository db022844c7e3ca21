import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { DEFAULTS } from '../config/defaults.js';
import { ByteBudget } from './byte-budget.js';
import { KNOWN_EVENT_TYPES } from './envelope.js';
import { receiveWebhook, type ReceiveOptions } from './receive-webhook.js';

const KNOWN = new Set<string>(KNOWN_EVENT_TYPES);

/**
 * The `event_type` label of `husky_relay_events_received_total`: one of the five documented
 * types, `other` for any other type, `unknown` when the request was refused before an envelope
 * was read (so it has no type).
 */
export function eventTypeLabel(eventType: string | null): string {
  if (eventType === null) return 'unknown';
  return KNOWN.has(eventType) ? eventType : 'other';
}

export interface AppOptions extends Omit<ReceiveOptions, 'observe'> {
  metrics: Metrics;
  /** 200 on /readyz only while this says so (log writable, rules loaded). */
  ready: () => Promise<{ ok: boolean; reasons: string[] }>;
  logger: Logger;
  /** Metrics kept elsewhere (the pipeline thread's), appended to `/metrics`. */
  moreMetrics?: () => Promise<string>;
}

export function createApp(options: AppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  const { metrics } = options;

  // the labelled counter of each (event type, outcome), looked up once: prom-client would
  // hash and check the labels at every request. Both label sets are bounded: outcomes are the
  // relay's own codes, and an event type HuskyVoice does not document counts as `other` (the
  // sender chooses it: one series per type would grow without end).
  const received = new Map<string, { inc: () => void }>();
  const reading = options.reading ?? new ByteBudget(DEFAULTS.http.maxReadingBytes);
  metrics.reading.bytes = () => reading.inUse;
  const webhook = receiveWebhook({
    ...options,
    reading,
    observe: (outcome, eventType, seconds) => {
      const label = eventTypeLabel(eventType);
      const key = `${outcome}\0${label}`;
      let counter = received.get(key);
      if (counter === undefined) {
        counter = metrics.eventsReceived.labels({ event_type: label, outcome });
        received.set(key, counter);
      }
      counter.inc();
      metrics.ingestSeconds.observe(seconds);
    },
  });
  router.post('/webhooks/husky', webhook);
  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/readyz', async (ctx) => {
    const { ok, reasons } = await options.ready();
    ctx.status = ok ? 200 : 503;
    ctx.body = ok ? { ok: true } : { ok: false, reasons };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    // the pipeline thread's own metrics follow this thread's (distinct names: one exposition)
    const [own, more] = await Promise.all([metrics.registry.metrics(), options.moreMetrics?.() ?? '']);
    ctx.body = more ? `${own.trimEnd()}\n${more}` : own;
  });

  // One place turns anything unexpected into a JSON answer; details go to the log only.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      options.logger.error({ err: error }, 'unexpected error while answering %s %s', ctx.method, ctx.path);
      ctx.status = 500;
      ctx.body = { error: 'internal_error' };
    }
    // every answer is JSON, the router's 404 and 405 too (setting a body alone would make it 200)
    if (ctx.body === undefined && ctx.status >= 400) {
      const status = ctx.status;
      ctx.body = { error: status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : 'error' };
      ctx.status = status;
    }
  });
  // the hot route straight to its handler; every other path and method (and spelling of this
  // one the router also takes: trailing slash, other case) goes through the router
  app.use((ctx, next) => (ctx.method === 'POST' && ctx.url === '/webhooks/husky' ? webhook(ctx) : next()));
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.silent = true;
  return app;
}
