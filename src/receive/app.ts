import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { receiveWebhook, type ReceiveOptions } from './receive-webhook.js';

export interface AppOptions extends Omit<ReceiveOptions, 'observe'> {
  metrics: Metrics;
  /** 200 on /readyz only while this says so (log writable, rules loaded). */
  ready: () => { ok: boolean; reasons: string[] };
  logger: Logger;
}

export function createApp(options: AppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  const { metrics } = options;

  router.post(
    '/webhooks/husky',
    receiveWebhook({
      ...options,
      observe: (outcome, eventType, seconds) => {
        metrics.eventsReceived.inc({ event_type: eventType ?? 'unknown', outcome });
        metrics.ingestSeconds.observe(seconds);
      },
    }),
  );
  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/readyz', (ctx) => {
    const { ok, reasons } = options.ready();
    ctx.status = ok ? 200 : 503;
    ctx.body = ok ? { ok: true } : { ok: false, reasons };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
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
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.silent = true;
  return app;
}
