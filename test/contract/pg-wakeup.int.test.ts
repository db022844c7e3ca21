import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { PgGroupCommit } from '../../src/log/pg/pg-group-commit.js';
import type { AppendedNotice, CommitReply } from '../../src/log/sqlite/writer-protocol.js';
import { receivedEntry } from '../helpers/entries.js';
import { usePgDatabase } from '../helpers/pg.js';

/**
 * Wake-ups across relays (README "Past one machine"): `serve`'s writer on PostgreSQL tells its
 * pipeline thread's channel of every commit to the log, also another relay's (LISTEN/NOTIFY),
 * so the lease holder routes an event another relay took without waiting for its poll. The
 * pipeline thread's own appends go through the same channel and group commit.
 */
describe("serve's writer on PostgreSQL", () => {
  const pg = usePgDatabase();

  it("tells the pipeline's channel of another relay's commit, and commits the pipeline's appends", async () => {
    // Given relay A's writer, with a pipeline channel attached, listening
    const [a, b] = [await pg.open(), await pg.open()];
    const writer = a.serveWriter(() => {}) as PgGroupCommit;
    const channel = new MessageChannel();
    writer.connect(channel.port1);
    const pipeline = channel.port2;
    const messages: (AppendedNotice | CommitReply)[] = [];
    pipeline.on('message', (m: AppendedNotice | CommitReply) => messages.push(m));
    const heard = async (kind: string) => {
      while (!messages.some((m) => m.kind === kind)) await once(pipeline, 'message');
      return messages.find((m) => m.kind === kind)!;
    };
    await writer.listening;

    // When relay B appends an event
    const [appended] = await b.append([receivedEntry({ event_id: 'evt_other' })]);
    // Then A's pipeline channel hears of it, with its seq
    expect(await heard('appended')).toEqual({ kind: 'appended', lastSeq: appended!.seq });

    // And a commit request from the pipeline channel is committed and answered with its seqs
    pipeline.postMessage({ id: 7, kind: 'commit', at: '2026-06-01T12:00:00.000Z', entries: [receivedEntry({ event_id: 'evt_pipe' })], counts: [1], checkpoints: [{ group: 0, checkpoint: { name: 'router', seq: 3 } }] });
    expect(await heard('committed')).toMatchObject({ kind: 'committed', ids: [7], ok: true, seqs: [2] });
    expect(await a.log.checkpoint('router')).toBe(3);
    expect((await a.log.read(1))[0]).toMatchObject({ seq: 2, at: '2026-06-01T12:00:00.000Z' });
    pipeline.close();
    await writer.close();
  });
});
