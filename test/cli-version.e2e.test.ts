import { cpSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runScript } from '../testing/child.js';
import { assertBuilt, CLI, cliEnv, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/relay.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

describe('husky-relay --version (README "Command line")', () => {
  const temps: ReturnType<typeof tempDir>[] = [];
  const temp = () => {
    const t = tempDir();
    temps.push(t);
    return t.dir;
  };
  afterEach(() => {
    for (const t of temps.splice(0)) t.cleanup();
  });

  it('prints the version of package.json and exits 0', async () => {
    // Given the package's own version
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const dir = temp();
    // When --version (and its short form) is asked
    const long = await runCli(['--version'], { cwd: dir, env: cliEnv() });
    const short = await runCli(['-V'], { cwd: dir, env: cliEnv() });
    // Then exactly that version is printed, nothing else
    expect(long).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(short).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('reads package.json when it runs, so an install of another version says so', async () => {
    // Given a copy of the build beside a package.json of another version
    assertBuilt();
    const dir = temp();
    cpSync(dirname(CLI), join(dir, 'dist'), { recursive: true });
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'husky-relay', version: '9.8.7-test', type: 'module' }));
    // When that copy is asked its version
    const result = await runScript(join(dir, 'dist', 'cli.js'), ['--version'], { env: cliEnv(), cwd: dir, timeoutMs: 10_000 });
    // Then it prints the version written there
    expect(result).toMatchObject({ code: 0, stdout: '9.8.7-test\n', stderr: '' });
  });
});
