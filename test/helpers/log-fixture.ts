import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './relay.js';

/** A log a describe's tests read through the CLI: its folder, and `--db PATH` for the command line. */
export interface LogFixture {
  dir: string;
  /** `['--db', PATH]` */
  db: string[];
}

/**
 * Inside a describe: before its tests, a temp folder (`prefix`) with a log `write` makes at
 * `relay.db` in it (`write` gets the path and the folder, and may assert what it made); after
 * them, the folder removed. The fixture's fields are set once `beforeAll` has run.
 */
export function logFixture(prefix: string, write: (dbPath: string, dir: string) => Promise<unknown>): LogFixture {
  const fixture: LogFixture = { dir: '', db: [] };
  let cleanup: (() => void) | undefined;
  beforeAll(async () => {
    const temp = tempDir(prefix);
    cleanup = temp.cleanup;
    const dbPath = join(temp.dir, 'relay.db');
    await write(dbPath, temp.dir);
    Object.assign(fixture, { dir: temp.dir, db: ['--db', dbPath] });
  }, 60_000);
  afterAll(() => cleanup?.());
  return fixture;
}
