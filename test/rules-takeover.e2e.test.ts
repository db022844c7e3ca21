import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { cliEnv, runCli, startServe, type ServeProcess } from './helpers/cli.js';
import { EXAMPLE_RULES, entriesOf, until } from './helpers/pipeline.js';
import { tempDir } from './helpers/relay.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function serveIn(dir: string): Promise<ServeProcess> {
  const serve = await startServe({ dbPath: join(dir, 'relay.db'), cwd: dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: 'a-secret-of-enough-length-123456' }) });
  cleanups.push(async () => {
    serve.child.kill('SIGTERM');
    await serve.exited;
  });
  return serve;
}

const loadedPaths = (dir: string) => {
  const log = new SqliteLog(join(dir, 'relay.db'));
  try {
    return entriesOf(log, 'rules.loaded').map((e) => e.data.path);
  } finally {
    log.close();
  }
};

describe('serve without a rules file', () => {
  it('switches from rules.example.yaml to a rules.yaml that appears, and a SIGHUP keeps it', async () => {
    // Given serve started in a folder with only the example (as after `git clone`)
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    copyFileSync(EXAMPLE_RULES, join(temp.dir, 'rules.example.yaml'));
    const serve = await serveIn(temp.dir);
    await until(() => loadedPaths(temp.dir).length === 1, { what: 'the example to be loaded' });
    expect(loadedPaths(temp.dir)).toEqual([join(temp.dir, 'rules.example.yaml')]);
    // When the operator copies it to rules.yaml, as the start-up warning says
    copyFileSync(EXAMPLE_RULES, join(temp.dir, 'rules.yaml'));
    // Then rules.yaml takes over, with its own rules.loaded entry (same bytes, other file)
    await until(() => loadedPaths(temp.dir).length === 2, { what: 'rules.yaml to take over', timeoutMs: 8000 });
    expect(loadedPaths(temp.dir)).toEqual([join(temp.dir, 'rules.example.yaml'), join(temp.dir, 'rules.yaml')]);
    // and a SIGHUP after an edit re-reads rules.yaml, not the example
    writeFileSync(join(temp.dir, 'rules.yaml'), 'version: 1\nsinks:\n  console: { type: log }\nrules: []\n');
    serve.child.kill('SIGHUP');
    await until(() => loadedPaths(temp.dir).length === 3, { what: 'the edited rules.yaml', timeoutMs: 8000 });
    expect(loadedPaths(temp.dir)[2]).toBe(join(temp.dir, 'rules.yaml'));
    expect(serve.stdout()).toContain('rules loaded');
  });

  it('rules check on an alias bomb exits 1 with a located problem, not an internal error', async () => {
    // Given
    const temp = tempDir();
    cleanups.push(temp.cleanup);
    let bomb = 'version: 1\nsinks: {}\nrules: []\na0: &a0 [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++) bomb += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
    writeFileSync(join(temp.dir, 'rules.yaml'), bomb);
    // When
    const result = await runCli(['rules', 'check'], { cwd: temp.dir });
    // Then
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rules\.yaml:5:\d+: YAML: aliases expand to too much/);
    expect(result.stderr).not.toMatch(/internal error/);
  });
});
