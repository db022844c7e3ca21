import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rulesCheck, type Output } from '../src/commands/rules.js';

import { entriesOf, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { makeEvent, tempDir, type TestRelay } from './helpers/relay.js';
import { DEFAULTS } from '../src/config/defaults.js';

const VALID = 'version: 1\nsinks:\n  console: { type: log }\nrules:\n  - id: trace\n    on: "*"\n    actions: [{ sink: console, text: ok }]\n';

/** 10 levels of 10 aliases each: 10^10 nodes if expanded. */
function aliasBomb(): string {
  let text = 'version: 1\nsinks: {}\nrules: []\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i <= 9; i++) text += `x${i}: &x${i} [${Array.from({ length: 10 }, () => `*x${i - 1}`).join(', ')}]\n`;
  return text;
}

/** Every kind of rules file that broke the loader itself, and the located problem it must be now. */
const HOSTILE: [string, (dir: string) => string, RegExp][] = [
  ['an alias bomb', (dir) => write(dir, aliasBomb()), /:5:\d+: YAML: aliases expand to too much/],
  ['thousands of aliases', (dir) => write(dir, `version: 1\nsinks: {}\nrules: []\na: &a 1\nb: [${Array(5000).fill('*a').join(',')}]\n`), /:5:\d+: YAML: aliases expand/],
  ['flow nesting 20,000 deep', (dir) => write(dir, `version: 1\nsinks: {}\nrules: []\nx: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`), /:4:\d+: YAML: nested too deeply to read/],
  ['block nesting 200 deep', (dir) => write(dir, `version: 1\nsinks: {}\nrules: []\nx:\n${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`), /:1:1: the file nests deeper than 64 levels/],
  ['a file over the size limit', (dir) => write(dir, `${VALID}# ${'x'.repeat(DEFAULTS.rules.maxFileBytes)}\n`), /:1:1: rules file is \d+ bytes, over the limit of 1048576/],
  ['a binary file', (dir) => write(dir, Buffer.from(Array.from({ length: 2048 }, (_, i) => i % 256))), /:1:1: rules file is not UTF-8 text/],
  ['invalid UTF-8', (dir) => write(dir, Buffer.concat([Buffer.from(VALID), Buffer.from([0xc3, 0x28])])), /:1:1: rules file is not UTF-8 text/],
  ['a directory', (dir) => (mkdirSync(join(dir, 'rules.yaml')), join(dir, 'rules.yaml')), /:1:1: cannot read rules file: it is a directory/],
  // a named pipe with no writer blocks an open or a read forever; /dev/zero never ends; a huge file is not read into memory
  ['a named pipe (FIFO)', (dir) => (execFileSync('mkfifo', [join(dir, 'rules.yaml')]), join(dir, 'rules.yaml')), /:1:1: cannot read rules file: it is a named pipe \(FIFO\), not a regular file/],
  ['a link to /dev/zero', (dir) => (symlinkSync('/dev/zero', join(dir, 'rules.yaml')), join(dir, 'rules.yaml')), /:1:1: cannot read rules file: it is a character device, not a regular file/],
  ['a 3 GiB file', (dir) => (truncateSync(write(dir, VALID), 3 * 1024 ** 3), join(dir, 'rules.yaml')), /:1:1: rules file is 3221225472 bytes, over the limit of 1048576/],
];

function write(dir: string, content: string | Buffer): string {
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, content);
  return path;
}

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('rules check on hostile files', () => {
  it.each(HOSTILE)('%s is a located problem, exit 1', async (_name, make, expected) => {
    // Given
    const path = make(mkdtempSync(join(tmpdir(), 'husky-hostile-')));
    const io = capture();
    // When
    const code = await rulesCheck(path, {}, {}, io);
    // Then
    expect(code).toBe(1);
    expect(io.stderr[0]).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${expected.source}`));
    expect(io.stderr.at(-1)).toBe(`${path}: 1 error`);
  });
});

describe('a reload to a hostile file keeps the rules in force', () => {
  let relay: TestRelay | undefined;
  let cleanup = () => {};
  afterEach(async () => {
    await relay?.stop();
    cleanup();
  });

  it.each(HOSTILE)('%s', async (_name, make) => {
    // Given a relay routing with valid rules
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rulesPath = writeRules(temp.dir, VALID);
    relay = await startRoutingRelay({ dir: temp.dir, rulesPath });
    await relay.pipeline!.unwatch(); // only the explicit reload below
    // When the file is replaced by a hostile one and reloaded
    const { rmSync } = await import('node:fs');
    rmSync(rulesPath, { recursive: true, force: true });
    make(temp.dir);
    expect(await relay.pipeline!.reload('SIGHUP')).toBe(false);
    // Then the relay still answers and routes with the old rules
    const seq = await postEvent(relay, makeEvent());
    await until(() => entriesOf(relay!.log, 'delivery.planned').some((p) => p.data.event_seq === seq), { what: 'the event to be planned' });
    expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
  });
});
