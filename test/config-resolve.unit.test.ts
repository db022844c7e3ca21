import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { UserError } from '../src/errors.js';

/**
 * `resolveConfig`: what a command makes of its environment (SPEC §3, README "Command line").
 * An empty variable (a blank `VAR=` line in `.env` or a systemd EnvironmentFile) is unset,
 * and a value no start can use is a `UserError` that names the variable (SPEC §2).
 */

/** The settings from `env` alone, with a rules path given (no file is looked for). */
const settings = (env: Record<string, string>) => resolveConfig({ rules: '/etc/husky-relay/rules.yaml' }, env);

/** The `UserError` resolving `env` throws (fails the test if none). */
function refusal(env: Record<string, string>): UserError {
  try {
    settings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe('SLACK_API_URL and HUBSPOT_BASE_URL', () => {
  it('unset, empty or blank: the SPEC defaults, so every Slack and HubSpot delivery still goes out', () => {
    for (const value of [undefined, '', '  ']) {
      const env: Record<string, string> = value === undefined ? {} : { SLACK_API_URL: value, HUBSPOT_BASE_URL: value };
      const g = settings(env);
      expect(g.slackApiUrl, JSON.stringify(value)).toBe('https://slack.com/api/');
      expect(g.hubspotBaseUrl, JSON.stringify(value)).toBe('https://api.hubapi.com');
    }
  });

  it('an absolute http(s) URL is used as given (a proxy, a fake in tests)', () => {
    const g = settings({ SLACK_API_URL: 'http://127.0.0.1:9/api/', HUBSPOT_BASE_URL: ' https://hubspot.internal ' });
    expect(g.slackApiUrl).toBe('http://127.0.0.1:9/api/');
    expect(g.hubspotBaseUrl).toBe('https://hubspot.internal');
  });

  it('one that is not an absolute http(s) URL is refused, naming the variable and its value', () => {
    expect(refusal({ SLACK_API_URL: 'slack.internal/api/' }).message).toBe(
      'SLACK_API_URL: "slack.internal/api/" is not an absolute http:// or https:// URL (leave it unset or empty for https://slack.com/api/)',
    );
    expect(refusal({ HUBSPOT_BASE_URL: 'ftp://api.hubapi.com' }).message).toBe(
      'HUBSPOT_BASE_URL: "ftp://api.hubapi.com" is not an absolute http:// or https:// URL (leave it unset or empty for https://api.hubapi.com)',
    );
    expect(refusal({ HUBSPOT_BASE_URL: 'https://api.hubapi.com?portal=1' }).message).toBe(
      'HUBSPOT_BASE_URL: "https://api.hubapi.com?portal=1" has a query or fragment; an API base URL has neither (leave it unset or empty for https://api.hubapi.com)',
    );
  });
});

describe('LOG_LEVEL', () => {
  it("one of pino's levels or silent, in any case; unset or empty: info", () => {
    expect(settings({}).logLevel).toBe('info');
    expect(settings({ LOG_LEVEL: '' }).logLevel).toBe('info');
    expect(settings({ LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
    expect(settings({ LOG_LEVEL: 'INFO' }).logLevel).toBe('info');
    expect(settings({ LOG_LEVEL: 'SILENT' }).logLevel).toBe('silent');
  });

  it('any other word is refused in one line that names the levels there are', () => {
    expect(refusal({ LOG_LEVEL: 'verbose' }).message).toBe('LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent');
  });
});

describe('HUSKY_RELAY_MASTER_KEY', () => {
  it('keys of the right form (hex or base64 of 32 bytes, new first) are kept as set; any other form is refused at once, naming the variable and which key', () => {
    const keys = `${'a'.repeat(64)}, ${Buffer.alloc(32, 1).toString('base64')}`;
    expect(settings({ HUSKY_RELAY_MASTER_KEY: keys }).masterKeys).toBe(keys);
    expect(refusal({ HUSKY_RELAY_MASTER_KEY: 'xyz' }).message).toBe('HUSKY_RELAY_MASTER_KEY: key 1 is not 32 bytes (64 hex characters, or base64 of 32 bytes; openssl rand -hex 32)');
    expect(refusal({ HUSKY_RELAY_MASTER_KEY: `${'a'.repeat(64)},bad` }).message).toMatch(/^HUSKY_RELAY_MASTER_KEY: key 2 is not 32 bytes/);
    expect(refusal({ HUSKY_RELAY_MASTER_KEY: ',,,' }).message).toBe('HUSKY_RELAY_MASTER_KEY holds no key: give 64 hex characters (openssl rand -hex 32)');
  });
});

describe('an empty variable is an unset one', () => {
  it('HUSKY_RELAY_DB, HUSKY_RELAY_RULES, PORT, HOST, the tokens, keys and retention', () => {
    // Given every variable present but empty (KEY= lines in an EnvironmentFile)
    const names = ['HUSKY_RELAY_DB', 'HUSKY_RELAY_RULES', 'PORT', 'HOST', 'LOG_LEVEL', 'HUSKY_WEBHOOK_SECRET', 'HUSKY_RELAY_UI_TOKEN', 'HUSKY_RELAY_MASTER_KEY', 'HUSKY_RELAY_RETENTION'];
    const empty = resolveConfig({}, Object.fromEntries(names.map((n) => [n, ''])));
    // Then each setting is what it is with the variable unset
    const { env: _e1, ...asEmpty } = empty;
    const { env: _e2, ...asUnset } = resolveConfig({}, {});
    expect(asEmpty).toEqual(asUnset);
    // that is: the default log, not the working directory; no secret, key or token; retention off
    expect(empty.dbPath).toBe(resolve('./data/husky-relay.db'));
    expect(empty.webhookSecret).toBeUndefined();
    expect(empty.masterKeys).toBeUndefined();
    expect(empty.uiToken).toBeUndefined();
    expect(empty.retention).toBeUndefined();
    expect(empty.port).toBe(3000);
  });

  it('a HUSKY_WEBHOOK_SECRET of spaces is kept, for serve to refuse (README "Secrets and rotation")', () => {
    expect(settings({ HUSKY_WEBHOOK_SECRET: '  ' }).webhookSecret).toBe('  ');
  });
});
