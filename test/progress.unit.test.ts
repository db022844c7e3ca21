import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressBar } from '../src/commands/progress.js';

/** A terminal the bar draws on: everything written, escapes stripped. */
function terminal() {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
  );
  return { stream, text: () => text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '') };
}

describe('progressBar: how it ends', () => {
  it('done: drawn full, 100 % of the total, however far the last report was', () => {
    const t = terminal();
    const bar = progressBar('copying', true, t.stream);
    bar.update({ done: 45, total: 50 });
    bar.done();
    bar.stop(); // the finally after a success: nothing more
    expect(t.text()).toContain('100% | 50/50 entries');
    expect(t.text()).not.toContain('stopped');
  });

  it('stop partway (an error, Ctrl-C): says where it stopped, never a full bar', () => {
    const t = terminal();
    const bar = progressBar('rebuilding', true, t.stream);
    bar.update({ done: 450, total: 1000 });
    bar.stop();
    bar.stop();
    expect(t.text()).not.toContain('100%');
    expect(t.text().match(/rebuilding stopped at 45 % \(450\/1000 entries\)\n/g)).toHaveLength(1);
  });

  it('one entry: "1/1 entry"', () => {
    const t = terminal();
    const bar = progressBar('copying', true, t.stream);
    bar.update({ done: 1, total: 1 });
    bar.done();
    expect(t.text()).toContain('100% | 1/1 entry |');
  });
});
