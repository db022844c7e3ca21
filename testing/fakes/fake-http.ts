import { startFakeServer, type FakeServer, type RecordedRequest, type Reply } from './fake-server.js';

/**
 * A webhook receiver: records every request and answers 200 `{ok:true}` (or `status`).
 *
 *   const receiver = await startFakeHttp();
 *   receiver.failNext({ status: 503 });
 *   receiver.requests[0].headers['webhook-signature'];
 *   // a receiver whose error page echoes the request headers back
 *   await startFakeHttp({ answer: (req) => ({ status: 400, body: JSON.stringify(req.headers) }) });
 */
export interface FakeHttp extends FakeServer {
  /** `http://127.0.0.1:PORT/hook` */
  readonly url: string;
}

export interface FakeHttpOptions {
  /** Status of a normal answer. (Default: 200) */
  status?: number;
  /** Keep every request in `requests`. (Default: true) */
  record?: boolean;
  /** Answers each request (instead of `status` and `{ok:true}`); injected faults still come first. */
  answer?: (req: RecordedRequest) => Reply;
}

export async function startFakeHttp(options: FakeHttpOptions = {}): Promise<FakeHttp> {
  const answer = options.answer ?? (() => ({ status: options.status ?? 200, body: { ok: true } }));
  const server = await startFakeServer(answer, { record: options.record });
  return { ...server, url: `${server.origin}/hook` };
}
