import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined if it is not JSON. */
  body: any;
  /** The request went over a connection an earlier request had opened (see `RawRequest.agent`). */
  reused: boolean;
}

export interface RawRequest {
  method?: string;
  path: string;
  /** Sent exactly as given: nothing is added (no content type unless you pass one). */
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body with `Transfer-Encoding: chunked` and no Content-Length. */
  chunked?: boolean;
  /** Connections to reuse (a keep-alive agent). Default: a fresh connection for this request. */
  agent?: Agent;
}

/**
 * One HTTP request with full control of the bytes and headers (fetch adds a content type
 * to string bodies and refuses some headers). A fresh connection each time, unless `agent`.
 */
export function rawRequest(baseUrl: string, options: RawRequest): Promise<RawAnswer> {
  const url = new URL(options.path, baseUrl);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (body && !options.chunked) headers['content-length'] = String(body.length);
  if (options.chunked) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'POST', headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed, reused: req.reusedSocket });
      });
      res.on('error', reject);
    });
    // the server may answer (413) and stop reading before the body is all sent
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    if (body) req.write(body);
    req.end();
  });
}
