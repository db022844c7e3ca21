import { startFakeServer, type Chaos, type Fault, type FaultOptions, type RecordedRequest } from './fake-server.js';

/**
 * A webhook receiver: records every request and answers 200 `{ok:true}` (or `status`).
 *
 *   const receiver = await startFakeHttp();
 *   receiver.failNext({ status: 503 });
 *   receiver.requests[0].headers['webhook-signature'];
 */
export interface FakeHttp {
  /** `http://127.0.0.1:PORT/hook` */
  readonly url: string;
  readonly origin: string;
  readonly requests: RecordedRequest[];
  failNext(fault: Fault, options?: FaultOptions): void;
  /** Random faults, decided per request (see `Chaos`). */
  chaos(pick: Chaos | null): void;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeHttpOptions {
  /** Status of a normal answer. (Default: 200) */
  status?: number;
  /** Keep every request in `requests`. (Default: true) */
  record?: boolean;
}

export async function startFakeHttp(options: FakeHttpOptions = {}): Promise<FakeHttp> {
  const server = await startFakeServer(() => ({ status: options.status ?? 200, body: { ok: true } }), { record: options.record });
  return {
    url: `${server.origin}/hook`,
    origin: server.origin,
    requests: server.requests,
    failNext: (fault, faultOptions) => server.failNext(fault, faultOptions),
    chaos: (pick) => server.chaos(pick),
    reset: () => server.reset(),
    close: () => server.close(),
  };
}
