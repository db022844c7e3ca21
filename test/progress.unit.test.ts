import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

/**
 * QA (new-user pass): an interrupted rebuild said `rebuilding stopped at 100 % (22001/22001 entries)`,
 * which reads as finished; and its first frame said `ETA 0s` at 4 %.
 */
describe('progressBar: a stop short of the end, and the ETA', () => {
  it('stopped after every entry was read (what follows them not done): never 100 %', () => {
    const t = terminal();
    const bar = progressBar('rebuilding', true, t.stream);
    bar.update({ done: 22_001, total: 22_001 });
    bar.stop();
    expect(t.text()).toMatch(/rebuilding stopped at 99 % \(22001\/22001 entries\)\n$/);
    expect(t.text()).not.toMatch(/stopped at 100 %/);
  });

  afterEach(() => void vi.useRealTimers());

  it('no ETA until the work has run a second; then the entries left at the pace so far', () => {
    // the bar's redraws are throttled by Date.now(): fake timers move both clocks
    vi.useFakeTimers();
    const t = terminal();
    const bar = progressBar('rebuilding', true, t.stream, () => Date.now());
    bar.update({ done: 1_000, total: 25_000 });
    vi.advanceTimersByTime(500);
    bar.update({ done: 2_000, total: 25_000 });
    expect(t.text()).toContain('2000/25000 entries');
    expect(t.text()).not.toContain('ETA');
    vi.advanceTimersByTime(500);
    bar.update({ done: 3_000, total: 25_000 }); // 2,000 entries a second since the first report: 22,000 left
    expect(t.text()).toMatch(/3000\/25000 entries \| [\d,]+ entries\/s \| ETA 11s/);
    bar.stop();
  });

  it('an ETA over a minute reads as `status` says a span (formatSeconds): `4m 9s`, `1h 23m 19s`', () => {
    vi.useFakeTimers();
    for (const [total, eta] of [
      [500_000, '4m 9s'], // 497,000 left at 2,000 entries a second: 248.5 s
      [10_000_000, '1h 23m 19s'], // 9,997,000 left: 4,998.5 s
    ] as const) {
      const t = terminal();
      const bar = progressBar('rebuilding', true, t.stream, () => Date.now());
      bar.update({ done: 1_000, total });
      vi.advanceTimersByTime(1_000);
      bar.update({ done: 3_000, total });
      expect(t.text()).toMatch(new RegExp(`3000/${total} entries \\| [\\d,]+ entries/s \\| ETA ${eta}\\s*$`));
      bar.stop();
    }
  });
});
