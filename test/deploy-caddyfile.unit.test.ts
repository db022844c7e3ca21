import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * deploy/Caddyfile as the Caddy that README "Deploy" installs reads it: Debian 12's package,
 * Caddy 2.6.2. Caddy is not installed here, so this checks the file's text: the commented
 * console block (README "Reaching the console on a VM") must still parse once uncommented on
 * that version, so it may not use the directive names Caddy 2.8 introduced.
 */

const CADDYFILE = readFileSync(new URL('../deploy/Caddyfile', import.meta.url), 'utf8');

/** The file as an operator leaves it after uncommenting the console block: `# ` removed before directives. */
const uncommented = CADDYFILE.split('\n')
  .map((line) => line.replace(/^(\s*)#\s?(\t|\s{4}|@|handle|\})/, '$1$2'))
  .join('\n');

/** Directives renamed in Caddy 2.8.0 (the new names are unknown to 2.6.2: `caddy reload` fails with "unrecognized directive"). */
const SINCE_2_8 = ['basic_auth', 'log_skip', 'request_buffers', 'response_buffers'];

describe('deploy/Caddyfile on Debian 12 (Caddy 2.6.2)', () => {
  it('opens the console behind Caddy\'s own password with a directive Caddy 2.6 knows (basicauth)', () => {
    expect(uncommented).toMatch(/^\s*basicauth \{$/m);
    expect(uncommented).toMatch(/^\s*@console path \/ui \/ui\/\*$/m);
    expect(uncommented).toMatch(/^\s*flush_interval -1$/m);
  });

  it('uses no directive that only Caddy 2.8 and later know', () => {
    const directives = uncommented
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .map((line) => line.trim().split(/\s+/)[0]);
    expect(directives.filter((d) => SINCE_2_8.includes(d ?? ''))).toEqual([]);
  });
});
