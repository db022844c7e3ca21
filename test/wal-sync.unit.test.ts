import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WalSync } from '../src/log/sqlite/wal-sync.js';
import { tempDir } from './helpers/relay.js';

/** A flush the test ends: `calls[i].end()` resolves the i-th, `.fail(e)` rejects it. */
function controlled() {
  const calls: { fd: number; end: () => void; fail: (e: Error) => void }[] = [];
  return { calls, syncFile: (fd: number) => new Promise<void>((end, fail) => calls.push({ fd, end, fail })) };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('WalSync: one flush for every commit written before it began', () => {
  let temp: ReturnType<typeof tempDir> | undefined;
  afterEach(() => temp?.cleanup());
  const walFile = () => {
    temp = tempDir();
    const path = join(temp.dir, 'relay.db-wal');
    writeFileSync(path, 'frames');
    return path;
  };

  it('flushes at once when none runs; callers during a flush share the one after it', async () => {
    const { calls, syncFile } = controlled();
    const sync = new WalSync(walFile(), syncFile);
    const order: string[] = [];
    const a = sync.sync().then(() => order.push('a'));
    await turn();
    expect(calls).toHaveLength(1);
    // b and c come while a's flush runs: it may have begun before their commits were written
    const b = sync.sync().then(() => order.push('b'));
    const c = sync.sync().then(() => order.push('c'));
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]!.end();
    await a;
    await turn();
    expect(order).toEqual(['a']);
    // one flush, begun after a's ended, for both
    expect(calls).toHaveLength(2);
    calls[1]!.end();
    await Promise.all([b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
    // idle again: the next caller's flush begins at once, on the same descriptor
    const d = sync.sync();
    await turn();
    expect(calls).toHaveLength(3);
    expect(calls[2]!.fd).toBe(calls[0]!.fd);
    calls[2]!.end();
    await d;
    sync.close();
  });

  it("a failed flush rejects its callers with the file system's error; the callers waiting for the next one get that one", async () => {
    const { calls, syncFile } = controlled();
    const sync = new WalSync(walFile(), syncFile);
    const a = sync.sync();
    await turn();
    const b = sync.sync();
    calls[0]!.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(a).rejects.toMatchObject({ code: 'EIO' });
    await turn();
    expect(calls).toHaveLength(2);
    calls[1]!.end();
    await expect(b).resolves.toBeUndefined();
    sync.close();
  });

  it('a WAL that is not there rejects with ENOENT, and a closed one refuses', async () => {
    const path = walFile();
    const missing = new WalSync(join(dirname(path), 'gone.db-wal'));
    await expect(missing.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    const real = new WalSync(path);
    await expect(real.sync()).resolves.toBeUndefined(); // a real fdatasync
    real.close();
    await expect(real.sync()).rejects.toThrow(/is closed/);
  });
});
