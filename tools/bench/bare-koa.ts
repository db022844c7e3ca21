import Koa from 'koa';
import getRawBody from 'raw-body';

/**
 * The yardstick: a bare Koa handler that reads the body and answers 200, nothing else.
 * The ingest bench runs the same load against it and against the relay.
 */
const app = new Koa();
app.use(async (ctx) => {
  await getRawBody(ctx.req, { limit: 1024 * 1024 });
  ctx.body = { ok: true };
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
