import type { Agent as HttpAgent, ClientRequest, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { keepAliveAgent, poolLife, poolSockets } from '../http/transport.js';

/**
 * The HubSpot sink's connections: one keep-alive pool per sink (node:http or node:https by the
 * base URL's scheme, at most `maxSockets` sockets, idle ones closed after 4 s), so a delivery's
 * search, contact and create requests, and the next deliveries, reuse one TLS connection
 * instead of opening one each (README "Performance").
 *
 * The SDK (@hubspot/api-client 13.4, node-fetch inside) gives node-fetch no AbortSignal: what
 * ends a request is destroying it. So each attempt sees the pool through an agent of its own
 * (`PoolAttempt.agent`): an object whose prototype is the pool's agent, whose one own member,
 * `addRequest`, notes the request before handing it to the pool. Node 20's ClientRequest reads
 * nothing else of an agent that the prototype does not answer (`protocol`, `defaultPort`,
 * `keepAlive`, `maxSockets`, `options.timeout`); the pool's agent does the rest with itself as
 * `this`. `cut` destroys the attempt's requests, sockets and all: a socket that carried a cut
 * request never goes back to the pool.
 */

export interface HubspotPool {
  /** A view of the pool for one attempt; `end()` it when the attempt is over. */
  attempt(): PoolAttempt;
  /**
   * Closes the pool (rules reloaded, relay stopping): idle sockets now, the rest when the last
   * attempt in flight ends. Attempts in flight finish; idempotent.
   */
  close(): void;
  /** Sockets in the pool, open and idle, for tests and status. */
  sockets(): { active: number; idle: number };
}

export interface PoolAttempt {
  /** The agent for this attempt's requests (the SDK's `setAgent`). */
  readonly agent: HttpAgent;
  /**
   * Ends the attempt's requests at once: one that has a socket is destroyed with it (`error`,
   * as node-fetch then rejects), one still waiting for a socket leaves the queue. A request made
   * after it is refused with `error`, never sent. Idempotent (the first error stands).
   */
  cut(error: Error): void;
  /**
   * The attempt is over: a request of it still running (none, when the SDK read every answer)
   * is cut, as is any made later, and a closed pool with no attempt left lets go of its sockets.
   */
  end(): void;
}

/** What node's own agents call that its types leave out: how an agent takes a request, and hands it a socket or an error. */
type PoolAgent = HttpAgent & { addRequest(req: ClientRequest, options: RequestOptions): void };
type Handed = ClientRequest & { onSocket(socket: Socket | undefined, error?: Error): void };

/**
 * A pool for `baseUrl` (node:https's agent for an https: URL, else node:http's) of at most
 * `maxSockets` connections (size it from the sink's `concurrency`). `baseUrl` must be the very
 * URL the SDK is given: the sender sends nothing when it is not an absolute http(s) URL.
 */
export function createHubspotPool(baseUrl: string, options: { maxSockets: number }): HubspotPool {
  const https = URL.canParse(baseUrl) && new URL(baseUrl).protocol === 'https:';
  const max = options.maxSockets;
  const shared = keepAliveAgent(https, { maxSockets: max }) as PoolAgent;
  // Requests on a socket, and those waiting for one, in order. They wait here, not in the agent's
  // own queue: the agent hands a freed socket to the next request in the tick the last answer
  // ended, before that answer's 'close', and node-fetch 2 reads the new request's listener on
  // the socket as the answer cut short ('Premature close', node-fetch issue 1767). A request
  // waiting here goes to the agent on the next turn of the event loop, its socket idle by then.
  let inFlight = 0;
  const waiting: { req: ClientRequest; opts: RequestOptions }[] = [];
  let pumping = false;
  const life = poolLife(shared);

  function admit(req: ClientRequest, opts: RequestOptions): void {
    inFlight += 1;
    req.once('close', () => {
      inFlight -= 1;
      if (waiting.length > 0 && !pumping) {
        pumping = true;
        setImmediate(pump);
      }
    });
    shared.addRequest(req, opts);
  }

  function pump(): void {
    pumping = false;
    while (inFlight < max && waiting.length > 0) {
      const next = waiting.shift()!;
      admit(next.req, next.opts);
    }
  }

  function attempt(): PoolAttempt {
    life.begin();
    const requests: ClientRequest[] = [];
    let cutBy: Error | undefined;
    let over = false;
    const addRequest = (req: ClientRequest, opts: RequestOptions): void => {
      // the attempt is over (it was cut between two steps): this request is refused, not sent
      if (cutBy) return void refuse(req, cutBy);
      requests.push(req);
      if (inFlight < max && waiting.length === 0) admit(req, opts);
      else waiting.push({ req, opts });
    };
    const agent = Object.create(shared, { addRequest: { value: addRequest } }) as HttpAgent;
    const cut = (error: Error): void => {
      cutBy ??= error;
      for (const req of requests) if (!req.destroyed) drop(req, cutBy);
      requests.length = 0;
    };
    return {
      agent,
      cut,
      end() {
        if (over) return;
        over = true;
        cut(new Error('the attempt ended before this request did'));
        life.end();
      },
    };
  }

  /** Ends one request: with its socket if it has one, else out of the queue it waits in (ours, or rarely the agent's). */
  function drop(req: ClientRequest, error: Error): void {
    const mine = waiting.findIndex((w) => w.req === req);
    if (mine >= 0) {
      waiting.splice(mine, 1);
      return refuse(req, error);
    }
    const queued = Object.values(shared.requests).find((list) => list?.includes(req as never)) as unknown[] | undefined;
    if (!queued) return void req.destroy(error);
    queued.splice(queued.indexOf(req), 1);
    refuse(req, error);
  }

  return {
    attempt,
    close: life.close,
    sockets: () => poolSockets(shared),
  };
}

/** A request that will never be given a socket ends with `error`, as the agent ends one whose connect failed. */
function refuse(req: ClientRequest, error: Error): void {
  (req.destroy() as Handed).onSocket(undefined, error);
}
