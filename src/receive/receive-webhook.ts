import { ERASED } from '../privacy/payload.js';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { normalizeDateTime } from '../dates.js';
import { EntryRejectedError } from '../errors.js';
import type { Appended, LogReader, QueuedWriter } from '../log/seam.js';
import type { EventReceived } from '../log/types.js';
import { isEnvelope, parseEnvelope, type Envelope } from './envelope.js';
import { HttpError } from './http-error.js';
import { lingerAfterAnswer } from './http-server.js';
import { ByteBudget } from './byte-budget.js';
import { nestingProblem } from './nesting.js';
import { bodyEncoding, decodeBody, readBody, reserveBody } from './read-body.js';
import { verifySignature } from './verify-signature.js';
import { DEFAULTS } from '../config/defaults.js';
import { utf8Text } from '../utf8.js';

export interface ReceiveOptions {
  /** Reads the body first logged for a duplicate event id. */
  reader: LogReader;
  /** Where events are appended: the group commit. */
  commit: QueuedWriter;
  /** Current webhook secrets; read at each request so a rotation needs no restart. */
  secrets: () => readonly string[];
  maxBodyBytes: number;
  logger: Logger;
  now?: () => Date;
  /** Told of every answer, for metrics. */
  observe?: (outcome: string, eventType: string | null, seconds: number) => void;
  /** Bytes of bodies being received at once. (Default: `DEFAULTS.http.maxReadingBytes`) */
  reading?: ByteBudget;
  /** Bytes of accepted events waiting for their commit. (Default: `DEFAULTS.log.maxCommitWaitBytes`) */
  waiting?: ByteBudget;
  /** How long a commit may wait for the writer before it counts as stuck. (Default: `DEFAULTS.log.commitStallMs`) */
  commitStallMs?: number;
}

/**
 * `POST /webhooks/husky`, checked in the order of README "HTTP". The signature is verified over
 * the exact bytes before anything is parsed; the answer is 200 only after the commit that
 * holds the entry has returned.
 */
export function receiveWebhook(options: ReceiveOptions) {
  const now = options.now ?? (() => new Date());
  const reading = options.reading ?? new ByteBudget(DEFAULTS.http.maxReadingBytes);
  const waiting = options.waiting ?? new ByteBudget(DEFAULTS.log.maxCommitWaitBytes);
  const stallMs = options.commitStallMs ?? DEFAULTS.log.commitStallMs;
  const max = options.maxBodyBytes;
  // The line per accepted event, without the redaction pass: its fields are fixed here
  // (event_id, event_type, seq: strings and a number, none of REDACT_PATHS), so there is
  // nothing to redact, and the pass costs as much as the rest of the line. Every other
  // line goes through `options.logger` as before.
  const accepted = options.logger.child({}, { redact: [] });
  return async (ctx: Context): Promise<void> => {
    const started = performance.now();
    let eventType: string | null = null;
    let read = false;
    try {
      const encoding = bodyEncoding(ctx.req.headers['content-encoding']);
      const release = reserveBody(ctx.req, max, reading, encoding !== null && encoding !== 'identity');
      let body: Buffer;
      try {
        const sent = await readBody(ctx.req, max);
        read = true;
        if (!isJsonRequest(ctx)) throw new HttpError(415, 'unsupported_media_type');
        if (encoding === null) throw new HttpError(415, 'unsupported_content_encoding');
        // what HuskyVoice signs is the JSON text, so a compressed body is verified decoded
        body = await decodeBody(sent, encoding, max);
      } finally {
        release();
      }
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
      const deep = nestingProblem(body, text.value);
      if (deep) throw new HttpError(422, 'invalid_envelope', [deep]);
      eventType = envelope.event_type;

      const appended = await append(options, waiting, stallMs, text.raw.length, {
        event_id: envelope.event_id,
        event_type: envelope.event_type,
        org_id: envelope.org_id,
        created_at: normalizeDateTime(envelope.created_at)!,
        received_at: now().toISOString(),
        call_id: envelope.data.call_id,
        body: text.raw,
      });

      if (appended.duplicate) {
        const stored = await options.reader.eventBody(envelope.event_id);
        // an erased event's bytes are gone: nothing to compare (README "Personal data")
        if (stored !== text.raw && stored !== ERASED) {
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
      // a body left unread (refused before or while reading it) must not hold the connection
      if (!read) {
        ctx.set('Connection', 'close');
        lingerAfterAnswer(ctx.req.socket);
      }
      if (error.status !== 503) options.logger.info({ status: error.status, error: error.code }, 'webhook refused');
      options.observe?.(error.code, eventType, (performance.now() - started) / 1000);
    }
  };
}

type Received = EventReceived;

/**
 * Appends the event, unless it would wait behind a writer that is stuck (a commit has waited
 * past `stallMs`, or one is in flight after a commit failed) or too far behind (`waiting` is
 * full): then 503 `log_unavailable` at once, so a lock held elsewhere never piles up requests
 * and their bodies in memory. Throws `HttpError` 503, or 422 if the log refuses the entry.
 */
async function append(options: ReceiveOptions, waiting: ByteBudget, stallMs: number, bytes: number, data: Received): Promise<Appended> {
  const { commit, logger } = options;
  const waited = commit.waitingMs();
  // (an event's own kind of commit: a failing delivery record must not hold events back)
  const failure = commit.failure(['event.received']);
  let why: string | null = null;
  if (waited > stallMs) why = `a commit has waited ${Math.round(waited)} ms for the writer (another process holds the write lock?)`;
  else if (waited > 0 && failure) why = `the last commit failed (${failure}) and the next one is in flight`;
  const release = why === null ? waiting.take(bytes) : null;
  if (release === null) {
    why ??= `${waiting.inUse} bytes of events already wait for the writer`;
    logger.warn({ reason: why }, 'log unavailable: answering 503 at once so HuskyVoice retries');
    throw new HttpError(503, 'log_unavailable');
  }
  try {
    const [appended] = await commit.append([{ type: 'event.received', data }]);
    return appended!;
  } catch (error) {
    if (error instanceof EntryRejectedError) {
      logger.error({ err: error.message, event_id: data.event_id }, 'the log refused the event');
      throw new HttpError(422, 'invalid_envelope', [{ path: '(root)', message: 'the event cannot be stored as sent' }]);
    }
    logger.error({ err: (error as Error).message }, 'log unavailable: answering 503 so HuskyVoice retries');
    throw new HttpError(503, 'log_unavailable');
  } finally {
    release();
  }
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

/** JSON is UTF-8 (RFC 8259): invalid bytes are invalid JSON, never silently replaced. */
function decodeJson(body: Buffer): { raw: string; value: unknown } {
  try {
    const raw = utf8Text(body); // without a leading BOM
    return { raw, value: JSON.parse(raw) };
  } catch {
    throw new HttpError(400, 'invalid_json');
  }
}
