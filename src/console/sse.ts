import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { LogReader } from '../log/seam.js';

/**
 * Live updates (README "Console"): one server-sent-event stream per open page. A single timer
 * for all of them looks at the log's last seq every `pollMs`; when it moved, each stream gets
 * `event: log` with the new seq, and the page's lists (htmx `hx-trigger="sse:log"`) fetch
 * themselves again. Nothing runs while no page is open. A comment every 15 s keeps proxies
 * from closing an idle stream.
 */
export class LiveUpdates {
  private readonly streams = new Set<PassThrough>();
  private timer: NodeJS.Timeout | undefined;
  private lastSeq = -1;
  private quietTicks = 0;
  /** A look at the last seq is under way. */
  private looking = false;

  constructor(
    private readonly log: LogReader,
    private readonly pollMs: number,
  ) {}

  /** Answers `GET /ui/stream` with a stream that lives until the page or the relay closes. */
  async open(ctx: Context): Promise<void> {
    // while no page was open nothing kept it current: read it again, or the first tick would send a stale change
    if (!this.timer) this.lastSeq = await this.log.lastSeq();
    const stream = new PassThrough();
    this.streams.add(stream);
    const drop = () => {
      this.streams.delete(stream);
      stream.end();
      if (this.streams.size === 0) this.stop();
    };
    ctx.req.on('close', drop);
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setKeepAlive(true);
    ctx.status = 200;
    ctx.type = 'text/event-stream';
    ctx.set({ 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    ctx.body = stream;
    stream.write(`retry: 3000\nevent: hello\ndata: ${this.lastSeq}\n\n`);
    this.timer ??= setInterval(() => void this.tick(), this.pollMs);
  }

  /** Ends every stream (the relay stops: a graceful stop must not wait for open pages). */
  close(): void {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    this.stop();
  }

  private async tick(): Promise<void> {
    // one look at a time: while a slow read holds the read thread, ticks must not pile up behind it
    if (this.looking) return;
    this.looking = true;
    let seq: number;
    try {
      seq = await this.log.lastSeq();
    } catch {
      return; // the log is closing or unreadable (the read thread busy): the next tick tries again
    } finally {
      this.looking = false;
    }
    const keepAlive = ++this.quietTicks * this.pollMs >= 15_000;
    if (seq === this.lastSeq && !keepAlive) return;
    const message = seq !== this.lastSeq ? `event: log\ndata: ${seq}\n\n` : ': keep-alive\n\n';
    if (seq !== this.lastSeq) this.lastSeq = seq;
    this.quietTicks = 0;
    for (const stream of this.streams) stream.write(message);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
