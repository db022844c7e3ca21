import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { cliEnv, expectOneLine, freePort, jsonLines, type CliResult } from './helpers/cli.js';
import { processHarness, runCliWith, spawnCli, type CliChild } from './helpers/cli-process.js';
import { SECRET } from './helpers/relay.js';

/**
 * What `serve` makes of `LOG_LEVEL`, `SLACK_API_URL` and `HUBSPOT_BASE_URL` (SPEC §3): a value
 * no start can use is refused in one line naming the variable (SPEC §2), never a stack trace
 * (pino threw on `LOG_LEVEL=verbose`) nor every delivery dead later; a level that is one of
 * pino's is what the log shows.
 */

const EXAMPLE = new URL('../rules.example.yaml', import.meta.url).pathname;

/** Polls /healthz every 20 ms for at most 15 s: serve at `port` is up (at warn, no "listening" line says so). */
async function answering(port: number, child: CliChild): Promise<void> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await delay(20)) {
    if (child.child.exitCode !== null) throw new Error(`serve exited ${child.child.exitCode}: ${child.stderr()}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
  }
  throw new Error(`serve did not answer on ${port}\n${child.stdout()}\n${child.stderr()}`);
}

describe('serve and the values of LOG_LEVEL, SLACK_API_URL, HUBSPOT_BASE_URL (README "Command line")', () => {
  const harness = processHarness('husky-env-values-');
  const serve = (dir: string, extra: Record<string, string>) =>
    runCliWith(['--db', join(dir, 'data', 'relay.db'), '--rules', join(dir, 'none.yaml'), 'serve', '--host', '127.0.0.1', '--port', '0'], {
      cwd: dir,
      env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, ...extra }),
    });

  it('a LOG_LEVEL pino does not have: exit 1, one line naming LOG_LEVEL and the levels; nothing is created', async () => {
    const dir = harness.dir();
    // When serve starts with LOG_LEVEL=verbose
    const result = await serve(dir, { LOG_LEVEL: 'verbose' });
    // Then it says which levels there are, with no stack trace, and makes no log
    expectOneLine(result, /^husky-relay: LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent$/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a base URL that is not an absolute http(s) URL: exit 1, one line naming the variable and its value', async () => {
    const dir = harness.dir();
    const slack = await serve(dir, { SLACK_API_URL: 'slack.internal/api/' });
    const hubspot = await serve(dir, { HUBSPOT_BASE_URL: 'api.hubapi.com' });
    expectOneLine(slack, /^husky-relay: SLACK_API_URL: "slack\.internal\/api\/" is not an absolute http:\/\/ or https:\/\/ URL/);
    expectOneLine(hubspot, /^husky-relay: HUBSPOT_BASE_URL: "api\.hubapi\.com" is not an absolute http:\/\/ or https:\/\/ URL/);
    expect(readdirSync(dir)).toEqual([]);
  });

  /** Starts serve at `level` in a folder holding only the example rules (serve warns it stands in), waits until it answers, stops it: what it printed. */
  async function runAt(level: string): Promise<CliResult> {
    const dir = harness.dir();
    copyFileSync(EXAMPLE, join(dir, 'rules.example.yaml'));
    const port = await freePort();
    const args = ['--db', join(dir, 'relay.db'), 'serve', '--host', '127.0.0.1', '--port', String(port)];
    const child = harness.track(spawnCli(args, { cwd: dir, env: cliEnv({ HUSKY_WEBHOOK_SECRET: SECRET, LOG_LEVEL: level }) }));
    await answering(port, child);
    child.child.kill('SIGTERM');
    return child.exited;
  }

  it('LOG_LEVEL=warn: the warnings, and no info line (not even "listening")', async () => {
    // When serve runs at warn where the example rules stand in for rules.yaml
    const { code, stdout } = await runAt('warn');
    // Then the warning is printed, and nothing below warn
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    expect(lines.map((l) => l['msg'])).toContain('no ./rules.yaml: using ./rules.example.yaml (copy it to rules.yaml and edit it; serve switches to it when it appears)');
    expect(lines.filter((l) => (l['level'] as number) < 40)).toEqual([]);
  });

  it('LOG_LEVEL=SILENT (any case, as pino takes INFO): serve runs and logs nothing', async () => {
    const { code, stdout } = await runAt('SILENT');
    expect(code).toBe(0);
    expect(stdout).toBe('');
  });
});
