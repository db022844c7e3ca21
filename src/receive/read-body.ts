import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw, type InputType, type ZlibOptions } from 'node:zlib';
import { HttpError } from './http-error.js';
import type { ByteBudget } from './byte-budget.js';

/** The `Content-Encoding`s a webhook may come in: none, or gzip/deflate (decoded here). */
export type BodyEncoding = 'identity' | 'gzip' | 'deflate';

/**
 * The body's `Content-Encoding`, or null when the relay cannot decode it (br, compress, a list
 * of several, anything unknown). Absent, empty and `identity` mean none; `x-gzip` is gzip.
 */
export function bodyEncoding(header: string | undefined): BodyEncoding | null {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  return null;
}

/**
 * Before a byte of the body is read: a declared `Content-Length` over `maxBytes` is refused
 * (413), and the bytes the body may need are reserved in `reading` (its declared length, else
 * `maxBytes`; and `maxBytes` more when it must be decompressed), or the answer is 503
 * `server_busy` at once. Returns how to give the reservation back (once the body is decoded).
 *
 * Throws `HttpError`: 413 `payload_too_large`, 503 `server_busy`, 400 `invalid_body` (a
 * `Content-Length` that is not a length).
 */
export function reserveBody(req: IncomingMessage, maxBytes: number, reading: ByteBudget, encoded: boolean): () => void {
  const declared = declaredLength(req);
  if (declared !== null && declared > maxBytes) throw new HttpError(413, 'payload_too_large');
  const release = reading.take((declared ?? maxBytes) + (encoded ? maxBytes : 0));
  if (!release) throw new HttpError(503, 'server_busy');
  return release;
}

/**
 * The body's bytes; one that grows past `maxBytes` stops being read there (413). Throws
 * `HttpError` 413 `payload_too_large` or 400 `invalid_body` (the client stopped sending, or
 * sent other than the length it declared).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return collect(req, declaredLength(req), maxBytes);
}

function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers['content-length'];
  if (header === undefined) return null;
  const length = Number(header);
  if (!Number.isSafeInteger(length) || length < 0) throw new HttpError(400, 'invalid_body');
  return length;
}

/**
 * With a declared length the body goes into one buffer of that size as it arrives, and each
 * chunk is dropped at once: a buffer that large is its own mapping, given back to the system
 * when freed, where thousands of 64 KB chunks would leave the heap fragmented (RSS that never
 * comes down after a burst of uploads). A chunked body is gathered in its chunks.
 */
function collect(req: IncomingMessage, declared: number | null, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const whole = declared === null ? null : Buffer.allocUnsafe(declared);
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error: HttpError | null) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAborted);
      req.off('close', onAborted);
      if (error) {
        // what is still coming is read and dropped until the connection closes after the answer
        req.resume();
        reject(error);
      } else if (whole) resolve(whole);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    const onData = (chunk: Buffer) => {
      // (with a declared length, Node's parser never passes more than it)
      if (whole) chunk.copy(whole, received);
      else if (received + chunk.length <= maxBytes) chunks.push(chunk);
      received += chunk.length;
      if (received > maxBytes) finish(new HttpError(413, 'payload_too_large'));
    };
    const onEnd = () => finish(declared !== null && received !== declared ? new HttpError(400, 'invalid_body') : null);
    const onAborted = () => finish(new HttpError(400, 'invalid_body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAborted);
    req.on('close', onAborted);
  });
}

type Decode = (input: InputType, options: ZlibOptions) => Promise<Buffer>;
const decoders: Record<Exclude<BodyEncoding, 'identity'>, Decode> = { gzip: promisify(gunzip), deflate: promisify(inflate) };
const inflateRawAsync: Decode = promisify(inflateRaw);

/**
 * The decoded bytes of a gzip or deflate body (on the thread pool, not the event loop). The body
 * limit holds for what it decodes to as well: decoding stops as soon as the output passes
 * `maxBytes` (413), so a small body that would inflate to gigabytes costs `maxBytes` at most.
 * `deflate` is the zlib format (RFC 9110), or the raw deflate some senders use instead.
 *
 * Throws `HttpError` 413 `payload_too_large`, or 400 `invalid_content_encoding` for bytes that
 * are not what the header says.
 */
export async function decodeBody(bytes: Buffer, encoding: BodyEncoding, maxBytes: number): Promise<Buffer> {
  if (encoding === 'identity') return bytes;
  const options = { maxOutputLength: maxBytes };
  try {
    try {
      return await decoders[encoding](bytes, options);
    } catch (error) {
      if (encoding === 'deflate' && (error as { code?: string }).code === 'Z_DATA_ERROR') return await inflateRawAsync(bytes, options);
      throw error;
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, 'payload_too_large');
    throw new HttpError(400, 'invalid_content_encoding');
  }
}
