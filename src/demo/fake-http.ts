import { startFakeServer, type FakeServer } from './fake-server.js';

/**
 * A webhook receiver: records every request and answers 200 `{ok:true}` (or `status`).
 *
 *   const receiver = await startFakeHttp();
 *   receiver.failNext({ status: 503 });
 *   receiver.requests[0].headers['webhook-signature'];
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
}

export async function startFakeHttp(options: FakeHttpOptions = {}): Promise<FakeHttp> {
  const server = await startFakeServer(() => ({ status: options.status ?? 200, body: { ok: true } }), { record: options.record });
  return { ...server, url: `${server.origin}/hook` };
}
