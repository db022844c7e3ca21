import { describe, expect, it } from 'vitest';
import { DamagedEntryError } from '../src/log/damaged-entry.js';

describe('the one line of a damaged entry', () => {
  it('one entry: `entry N … is damaged: what`', () => {
    expect(new DamagedEntryError([2], 'its data is not valid JSON', '/srv/relay.db').message).toBe(
      'entry 2 of the log at /srv/relay.db is damaged: its data is not valid JSON; run `husky-relay log --verify` to check the whole log, then stop serve and restore the latest backup (README: Backups)',
    );
  });

  it('several: `entries … are damaged`, what is wrong said of the first (never "are damaged: its data")', () => {
    const message = new DamagedEntryError([1, 10, 21], 'its data is not valid JSON').message;
    expect(message).toBe(
      'entries 1, 10, 21 of the log are damaged (entry 1: its data is not valid JSON); run `husky-relay log --verify` to check the whole log, then stop serve and restore the latest backup (README: Backups)',
    );
  });

  it('more than 10: the first 10, then …', () => {
    const seqs = Array.from({ length: 12 }, (_, i) => i + 1);
    expect(new DamagedEntryError(seqs, 'its data is not valid JSON').message).toMatch(/^entries 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … of the log are damaged \(entry 1: its data/);
  });
});
