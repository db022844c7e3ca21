import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { Logger } from 'pino';
import type { GroupCommit } from '../log/group-commit.js';
import type { Appended, Log } from '../log/log.js';
import { isEnvelope, parseEnvelope, type Envelope } from './envelope.js';
import { HttpError } from './http-error.js';
import { verifySignature } from './verify-signature.js';

export interface ReceiveOptions {
  log: Log;
  commit: GroupCommit;
  /** Current webhook secrets; read at each request so a rotation needs no restart. */
  secrets: () => readonly string[];
  maxBodyBytes: number;
  logger: Logger;
  now?: () => Date;
  /** Told of every answer, for metrics. */
  observe?: (outcome: string, eventType: string | null, seconds: number) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * `POST /webhooks/husky`, checked in the order of SPEC §4. The signature is verified over
 * the exact bytes before anything is parsed; the answer is 200 only after the commit that
 * holds the entry has returned.
 */
export function receiveWebhook(options: ReceiveOptions) {
  const now = options.now ?? (() => new Date());
  // The line per accepted event, without the redaction pass: its fields are fixed here
  // (event_id, event_type, seq: strings and a number, none of REDACT_PATHS), so there is
  // nothing to redact, and the pass costs as much as the rest of the line. Every other
  // line goes through `options.logger` as before.
  const accepted = options.logger.child({}, { redact: [] });
  return async (ctx: Context): Promise<void> => {
    const started = performance.now();
    let eventType: string | null = null;
    try {
      const body = await readBody(ctx, options.maxBodyBytes);
      if (!isJsonRequest(ctx)) throw new HttpError(415, 'unsupported_media_type');
      const signature = ctx.get('x-husky-signature');
      if (!signature) throw new HttpError(401, 'missing_signature');
      if (!verifySignature(body, signature, options.secrets())) throw new HttpError(401, 'invalid_signature');

      const text = decodeJson(body);
      let envelope: Envelope;
      // the common case, checked by hand; zod only when something is off (it words the details)
      if (isEnvelope(text.value)) envelope = text.value;
      else {
        const parsed = parseEnvelope(text.value);
        if (!parsed.ok) throw new HttpError(422, 'invalid_envelope', parsed.details);
        envelope = parsed.envelope;
      }
      eventType = envelope.event_type;

      let appended: Appended;
      try {
        [appended] = (await options.commit.append([
          {
            type: 'event.received',
            data: {
              event_id: envelope.event_id,
              event_type: envelope.event_type,
              org_id: envelope.org_id,
              created_at: envelope.created_at,
              received_at: now().toISOString(),
              call_id: envelope.data.call_id,
              body: text.raw,
            },
          },
        ])) as [Appended];
      } catch (error) {
        options.logger.error({ err: (error as Error).message }, 'log unavailable: answering 503 so HuskyVoice retries');
        throw new HttpError(503, 'log_unavailable');
      }

      if (appended.duplicate) {
        if (options.log.bodyOf(envelope.event_id) !== text.raw) {
          options.logger.warn(
            { event_id: envelope.event_id },
            'duplicate event_id with different bytes: the first one stays in the log',
          );
        }
        ctx.body = { ok: true, event_id: envelope.event_id, duplicate: true };
        options.observe?.('duplicate', eventType, (performance.now() - started) / 1000);
      } else {
        ctx.body = { ok: true, event_id: envelope.event_id, seq: appended.seq };
        accepted.info({ event_id: envelope.event_id, event_type: eventType, seq: appended.seq }, 'event received');
        options.observe?.('accepted', eventType, (performance.now() - started) / 1000);
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      ctx.status = error.status;
      ctx.body = error.body;
      if (error.status !== 503) options.logger.info({ status: error.status, error: error.code }, 'webhook refused');
      options.observe?.(error.code, eventType, (performance.now() - started) / 1000);
    }
  };
}

/**
 * `ctx.is('application/json', 'application/*+json')`, with the usual header answered without
 * parsing it; anything else goes to `ctx.is` (type-is) itself, so the answers are the same.
 */
function isJsonRequest(ctx: Context): boolean {
  const headers = ctx.req.headers;
  const type = headers['content-type'];
  if (type === 'application/json' || type === 'application/json; charset=utf-8') {
    // type-is answers null (no body) unless one of these says there is one
    return headers['transfer-encoding'] !== undefined || !Number.isNaN(Number(headers['content-length']));
  }
  return Boolean(ctx.is('application/json', 'application/*+json'));
}

async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw new HttpError(413, 'payload_too_large');
    throw new HttpError(400, 'invalid_body');
  }
}

/** JSON is UTF-8 (RFC 8259): invalid bytes are invalid JSON, never silently replaced. */
function decodeJson(body: Buffer): { raw: string; value: unknown } {
  try {
    const raw = utf8.decode(body);
    return { raw, value: JSON.parse(raw) };
  } catch {
    throw new HttpError(400, 'invalid_json');
  }
}
