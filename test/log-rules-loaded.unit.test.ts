import { describe, expect, it } from 'vitest';
import { summarize } from '../src/commands/log.js';
import type { Entry } from '../src/log/types.js';

const loaded = (sinks?: Record<string, { enabled: boolean; disabled_reason?: string }>): Entry => ({
  seq: 3,
  at: '2026-06-01T10:00:00.000Z',
  type: 'rules.loaded',
  data: { rules_hash: 'ab'.repeat(32), path: '/etc/husky/rules.yaml', ...(sinks && { sinks }) },
});

describe('log for a person: a rules.loaded line (README "The log")', () => {
  it('names the sinks the relay disabled, and why, so a re-recorded entry (same file) reads differently', () => {
    const line = summarize(loaded({ console: { enabled: true }, slack: { enabled: false, disabled_reason: '${SLACK_BOT_TOKEN} not set' } }));
    expect(line).toBe('/etc/husky/rules.yaml abababababab; disabled: slack (${SLACK_BOT_TOKEN} not set)');
    // every sink enabled, or an older relay's entry without sink states: the file and hash only
    expect(summarize(loaded({ console: { enabled: true } }))).toBe('/etc/husky/rules.yaml abababababab');
    expect(summarize(loaded())).toBe('/etc/husky/rules.yaml abababababab');
  });
});
