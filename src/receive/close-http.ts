import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { DEFAULTS } from '../config/defaults.js';

/**
 * Graceful stop of the HTTP side (README "`serve`: signals, and one at a time"): stop accepting,
 * answer what is in flight, then close.
 *
 * Node's own `server.close()` destroys every connection that is between requests at once. A
 * keep-alive client (HuskyVoice, or the proxy in front) that has just sent its next request on
 * such a connection, not yet read by the relay, then sees the connection reset (ECONNRESET)
 * with no answer, and cannot tell whether the event was stored; a proxy answers that POST 502
 * without retrying it. So the stop here is the one of nginx and Caddy: the listening socket
 * closes (a new connection is refused, never accepted), every answer from then on carries
 * `Connection: close` (the client opens its next request elsewhere, after the answer), and a
 * connection between requests is closed only once it has been quiet (nothing received since
 * its last answer, or since it was accepted) for `DEFAULTS.http.stopQuietMs`: a request already
 * on its way is read and answered.
 */

interface Tracked {
  /** Requests of this connection being answered. */
  busy: number;
  /** When it was last seen doing something (accepted, bytes received, an answer finished), ms. */
  since: number;
  bytesRead: number;
}

interface Connections {
  sockets: Map<Socket, Tracked>;
  responses: Set<ServerResponse>;
  stopping: boolean;
}

const tracked = new WeakMap<Server, Connections>();

/**
 * Follows `server`'s connections and answers for `closeHttp`; call it before adding the request
 * handler, so that an answer started after the stop began is already marked `Connection: close`.
 */
export function trackConnections(server: Server): void {
  const state: Connections = { sockets: new Map(), responses: new Set(), stopping: false };
  tracked.set(server, state);
  server.on('connection', (socket: Socket) => {
    state.sockets.set(socket, { busy: 0, since: Date.now(), bytesRead: 0 });
    socket.once('close', () => state.sockets.delete(socket));
  });
  server.on('request', (_req, res: ServerResponse) => {
    const connection = state.sockets.get(res.socket as Socket);
    if (connection) connection.busy += 1;
    state.responses.add(res);
    if (state.stopping) res.shouldKeepAlive = false;
    res.once('close', () => {
      state.responses.delete(res);
      if (!connection) return;
      connection.busy -= 1;
      connection.since = Date.now();
      connection.bytesRead = (res.socket ?? { bytesRead: connection.bytesRead }).bytesRead;
    });
  });
}

/**
 * Stops `server` gracefully (see above): resolves once every connection has closed. Each busy
 * connection closes after its answer; a quiet one after `quietMs`; at `deadline` (ms since the
 * epoch) whatever remains (a client still trickling a body, say) is destroyed, so the stop never
 * outlasts its bound. `server` must have been made by `createHttpServer` (its connections tracked).
 */
export async function closeHttp(server: Server, deadline: number, quietMs = DEFAULTS.http.stopQuietMs): Promise<void> {
  const state = tracked.get(server);
  if (!state) throw new Error('closeHttp: the server was not made by createHttpServer');
  state.stopping = true;
  // answers not yet begun say Connection: close, and Node closes their connection once they are out
  for (const res of state.responses) if (!res.headersSent) res.shouldKeepAlive = false;
  // net's close: stop listening, without http's destroying of the connections between requests
  const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
  const closeQuiet = () => {
    const now = Date.now();
    for (const [socket, c] of state.sockets) {
      if (c.busy > 0) continue;
      if (socket.bytesRead !== c.bytesRead) {
        c.bytesRead = socket.bytesRead;
        c.since = now; // a request is arriving: it gets its answer
      } else if (now - c.since >= quietMs) socket.destroy();
    }
  };
  closeQuiet();
  const sweep = setInterval(closeQuiet, 50);
  const cut = setTimeout(() => {
    for (const socket of state.sockets.keys()) socket.destroy();
  }, Math.max(0, deadline - Date.now()));
  await closed;
  clearInterval(sweep);
  clearTimeout(cut);
}
