import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The metrics of the thread that answers HTTP, on their own registry (no global state between
 * tests): ingest, commits, and the process. Routing and delivery run on their own thread and
 * keep theirs (`createPipelineMetrics`); `/metrics` serves both.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'husky_relay_' });
  /** Where `husky_relay_http_reading_bytes` reads its value when scraped; the receiver sets it. */
  const reading = { bytes: () => 0 };
  return {
    registry,
    reading,
    eventsReceived: new Counter({
      name: 'husky_relay_events_received_total',
      help: 'Webhook requests answered, by event type and outcome (accepted, duplicate, or the error code)',
      labelNames: ['event_type', 'outcome'],
      registers: [registry],
    }),
    ingestSeconds: latency(registry, 'husky_relay_ingest_seconds', 'Time from request to answer for POST /webhooks/husky, including the durable commit'),
    commitBatch: new Histogram({
      name: 'husky_relay_commit_batch_size',
      help: 'Entries per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 512, 2000],
      registers: [registry],
    }),
    commitSeconds: latency(registry, 'husky_relay_commit_seconds', 'Time a group commit holding webhooks took on the writer (transaction and fsync)'),
    commitWaitSeconds: latency(
      registry,
      'husky_relay_commit_wait_seconds',
      'Time the webhooks of a group commit waited for the writer before it began (it was committing something else)',
    ),
    lastSeq: new Gauge({ name: 'husky_relay_log_last_seq', help: 'Last seq in the log', registers: [registry] }),
    readingBytes: new Gauge({
      name: 'husky_relay_http_reading_bytes',
      help: 'Bytes reserved for webhook bodies being received now (capped at DEFAULTS.http.maxReadingBytes; past it, 503 server_busy)',
      registers: [registry],
      collect() {
        this.set(reading.bytes());
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** A histogram of durations in seconds, 0.5 ms to 1 s: where an acknowledgement's time goes. */
function latency(registry: Registry, name: string, help: string): Histogram {
  return new Histogram({ name, help, buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] });
}

/** The metrics of routing and delivery, on their thread's own registry (see `createMetrics`). */
export function createPipelineMetrics() {
  const registry = new Registry();
  return {
    registry,
    deliveries: new Counter({
      name: 'husky_relay_deliveries_total',
      help: 'Delivery attempts that ended, by sink and outcome (succeeded, transient, rate_limited, permanent, dead, paused: credentials refused)',
      labelNames: ['sink', 'outcome'],
      registers: [registry],
    }),
    attemptSeconds: new Histogram({
      name: 'husky_relay_attempt_seconds',
      help: 'Duration of delivery attempts, by sink',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    ruleErrors: new Counter({
      name: 'husky_relay_rule_errors_total',
      help: 'Rules that failed at run time (README "When a rule fails at run time"), by rule: a when that errored, or an action that went dead at planning',
      labelNames: ['rule'],
      registers: [registry],
    }),
  };
}

export type PipelineMetrics = ReturnType<typeof createPipelineMetrics>;
