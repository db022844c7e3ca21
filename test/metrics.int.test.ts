import { rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteLog } from '../src/log/sqlite/sqlite-log.js';
import { registerStateGauges } from '../src/project/gauges.js';
import { startFakeSlack, type FakeSlack } from './fakes/fake-slack.js';
import { rulesLoaded } from './helpers/group-commit-fixture.js';
import { allHaveStatus, fixture, postEvent, startRoutingRelay, until, writeRules } from './helpers/pipeline.js';
import { tempDir, type TestRelay } from './helpers/relay.js';

describe('/metrics', () => {
  let relay: TestRelay | undefined;
  let slack: FakeSlack | undefined;
  let cleanup = () => {};
  afterEach(async () => {
    await relay?.stop();
    await slack?.close();
    cleanup();
  });

  it('shows received events, attempts by outcome, open and dead deliveries per sink, and the log', async () => {
    // Given a relay with a Slack sink whose channel does not exist, and a log sink
    slack = await startFakeSlack({ token: 'xoxb-m' });
    const temp = tempDir();
    cleanup = temp.cleanup;
    const rules = writeRules(
      temp.dir,
      `version: 1
sinks:
  slack: { type: slack, token: "\${SLACK_BOT_TOKEN}" }
  parked: { type: slack, token: "\${PARKED_TOKEN}" }
  console: { type: log }
rules:
  - id: all
    on: "call.*"
    actions:
      - { sink: slack, channel: "#nowhere", text: "{{ data.call_id }}" }
      - { sink: parked, channel: "#later", text: "{{ data.call_id }}" }
      - { sink: console, text: "{{ data.call_id }}" }
`,
    );
    slack.failNext({ slackError: 'channel_not_found' });
    relay = await startRoutingRelay({
      dir: temp.dir,
      rulesPath: rules,
      env: { SLACK_BOT_TOKEN: 'xoxb-m' },
      sinkEnv: { slackApiUrl: `${slack.url}/api/`, hubspotBaseUrl: 'http://127.0.0.1:9' },
    });
    // When one event is received and its deliveries settle
    expect(await postEvent(relay, fixture('call.completed'))).toBeGreaterThan(0);
    await until(() => allHaveStatus(relay!.log, 'dead', 1, 'slack') && allHaveStatus(relay!.log, 'succeeded', 1, 'console'));
    // (the pipeline thread counts an attempt once its record has committed: a scrape may come between)
    const counted = ['husky_relay_deliveries_total{sink="slack",outcome="dead"} 1', 'husky_relay_deliveries_total{sink="console",outcome="succeeded"} 1'];
    await until(async () => {
      const scraped = await (await fetch(`${relay!.url}/metrics`)).text();
      return counted.every((line) => scraped.includes(line));
    }, { what: 'both deliveries counted' });
    const text = await (await fetch(`${relay.url}/metrics`)).text();
    // Then an operator's dashboard sees all of it
    expect(text).toContain('husky_relay_events_received_total{event_type="call.completed",outcome="accepted"} 1');
    expect(text).toContain('husky_relay_deliveries_total{sink="slack",outcome="dead"} 1');
    expect(text).toContain('husky_relay_deliveries_total{sink="console",outcome="succeeded"} 1');
    expect(text).toContain('husky_relay_deliveries_dead{sink="slack"} 1');
    expect(text).toContain('husky_relay_deliveries_open{sink="parked",status="pending"} 1');
    expect(text).toMatch(/husky_relay_oldest_pending_age_seconds \d/);
    expect(text).toMatch(/husky_relay_log_size_bytes [1-9]\d*/);
    expect(text).toMatch(/husky_relay_log_last_seq [1-9]/);
    expect(text).toContain('husky_relay_ingest_seconds_bucket');
    expect(text).toContain('husky_relay_attempt_seconds_bucket{le="0.005",sink="console"}');
    expect(text).toContain('husky_relay_process_resident_memory_bytes');
  });
});

describe('husky_relay_log_size_bytes on a --db that is a symlink', () => {
  it('counts the database file and the WAL SQLite writes beside it: the files the relay opened, even once the link points elsewhere', async () => {
    const temp = tempDir();
    // Given a log opened through a symlink, with entries in its WAL, and the state gauges on it
    const real = join(temp.dir, 'real.db');
    const link = join(temp.dir, 'relay.db');
    new SqliteLog(real).close();
    symlinkSync(real, link);
    const log = new SqliteLog(link);
    try {
      log.append([rulesLoaded(1), rulesLoaded(2)]);
      const registry = new Registry();
      registerStateGauges(registry, log.db, link);
      const scrape = async () => (await registry.getSingleMetric('husky_relay_log_size_bytes')!.get()).values[0]?.value;
      const opened = statSync(real).size + statSync(`${real}-wal`).size;
      expect(statSync(`${real}-wal`).size).toBeGreaterThan(0);
      // Then a scrape counts the real file and its WAL
      expect(await scrape()).toBe(opened);
      // When the link is pointed at another file while the log is open
      writeFileSync(join(temp.dir, 'other.db'), 'x'.repeat(10));
      rmSync(link);
      symlinkSync(join(temp.dir, 'other.db'), link);
      // Then the gauge still measures the log the relay writes
      expect(await scrape()).toBe(opened);
    } finally {
      log.close();
      temp.cleanup();
    }
  });
});
