import { listenLocal } from '../../testing/fakes/fake-server.js';
import { createServer, type ServerResponse } from 'node:http';

/** An answer of the gated receiver. */
export interface GateReply {
  status: number;
  body?: string;
}

/**
 * A webhook receiver the test opens and closes like a gate: while `hold()` is in force each
 * request waits unanswered, and `release(reply)` answers the waiting ones (and every later
 * one) with `reply`. A test can so change the world (fill the disk, lock the log) while an
 * attempt is on the wire, without sleeping.
 */
export interface GatedReceiver {
  /** `http://127.0.0.1:PORT/hook` */
  readonly url: string;
  /** `webhook-id` of every request, in arrival order. */
  readonly received: string[];
  /** Requests waiting for `release`. */
  waiting(): number;
  /** From now on requests wait. */
  hold(): void;
  /** Answers the waiting requests, and answers later ones at once, with `reply`. (Default: 200) */
  release(reply?: GateReply): void;
  /** Answers the oldest waiting request with `reply` (Default: 200); the gate stays held. False if none waits. */
  answerOne(reply?: GateReply): boolean;
  /** How many requests carried this webhook-id. */
  count(id: string): number;
  close(): Promise<void>;
}

export async function startGatedReceiver(): Promise<GatedReceiver> {
  const received: string[] = [];
  let parked: ServerResponse[] = [];
  let holding = false;
  let reply: GateReply = { status: 200, body: '{"ok":true}' };
  const answer = (res: ServerResponse, r: GateReply) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body ?? '');

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(String(req.headers['webhook-id'] ?? ''));
      if (holding) parked.push(res);
      else answer(res, reply);
    });
  });
  const { port, sockets } = await listenLocal(server);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    waiting: () => parked.length,
    hold: () => void (holding = true),
    release(next = { status: 200, body: '{"ok":true}' }) {
      holding = false;
      reply = next;
      const now = parked;
      parked = [];
      for (const res of now) answer(res, next);
    },
    answerOne(one = { status: 200, body: '{"ok":true}' }) {
      const res = parked.shift();
      if (res) answer(res, one);
      return res !== undefined;
    },
    count: (id) => received.filter((r) => r === id).length,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
