import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { LogReader } from '../log/seam.js';

/**
 * Live updates (README "Console"): one server-sent-event stream per open page. A single timer
 * for all of them looks at the log's last seq every `pollMs`; when it moved, each stream gets
 * `event: log` with the new seq, and the page's lists (htmx `hx-trigger="sse:log"`) fetch
 * themselves again. What they show of `status` may be up to `settleMs` old (the pages reuse it
 * that long while the log grows), so once the log has been quiet for `settleMs` after a change
 * the streams get `event: log` once more: the last change (a sink paused, after which nothing
 * is appended for minutes) always reaches an open page. Nothing runs while no page is open. A
 * comment every 15 s keeps proxies from closing an idle stream.
 */
export class LiveUpdates {
  private readonly streams = new Set<PassThrough>();
  private timer: NodeJS.Timeout | undefined;
  private lastSeq = -1;
  private quietTicks = 0;
  /** A look at the last seq is under way. */
  private looking = false;
  /** Epoch ms of the last change seen, and whether the streams were told again once it settled. */
  private changedAt = 0;
  private settled = true;

  constructor(
    private readonly log: LogReader,
    private readonly pollMs: number,
    /** How old what a page shows may be (`DEFAULTS.console.statusCacheMs`). */
    private readonly settleMs: number,
  ) {}

  /** Answers `GET /ui/stream` with a stream that lives until the page or the relay closes. */
  async open(ctx: Context): Promise<void> {
    // while no page was open nothing kept it current: read it again, or the first tick would send a stale change
    if (!this.timer) {
      this.lastSeq = await this.log.lastSeq();
      // a page closed moments ago may have left counts this page was just given: settle them too
      [this.changedAt, this.settled] = [Date.now(), false];
    }
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
    const changed = seq !== this.lastSeq;
    const settling = !changed && !this.settled && Date.now() - this.changedAt >= this.settleMs;
    if (!changed && !settling && !keepAlive) return;
    const message = changed || settling ? `event: log\ndata: ${seq}\n\n` : ': keep-alive\n\n';
    if (changed) [this.lastSeq, this.changedAt, this.settled] = [seq, Date.now(), false];
    if (settling) this.settled = true;
    this.quietTicks = 0;
    for (const stream of this.streams) stream.write(message);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
