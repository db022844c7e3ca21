/**
 * Every tunable of the relay and its default, in one place (README "Command line", "HTTP", "Delivery", "When a rule fails at run time"). A module
 * that is bounded, timed or sized by something reads it from here; the rules JSON Schema and
 * the README's tables quote these values. Durations are in ms, sizes in bytes unless the name
 * says characters. Where a value comes from a specification or an API, the doc says which.
 */
export const DEFAULTS = {
  /** Where the log lives (`--db`, `HUSKY_RELAY_DB`). @defaultValue `./data/husky-relay.db` */
  db: './data/husky-relay.db',
  /** The rules file (`--rules`, `HUSKY_RELAY_RULES`). @defaultValue `./rules.yaml` */
  rulesFile: './rules.yaml',
  /** Stands in, with a warning, while `./rules.yaml` does not exist. @defaultValue `./rules.example.yaml` */
  exampleRulesFile: './rules.example.yaml',
  /** `serve --port`, `PORT`. @defaultValue 3000 */
  port: 3000,
  /** `serve --host`, `HOST`. @defaultValue `0.0.0.0` */
  host: '0.0.0.0',
  /** pino level, `LOG_LEVEL`. @defaultValue `info` */
  logLevel: 'info',
  /** Slack Web API base, `SLACK_API_URL` (README "Command line"). @defaultValue `https://slack.com/api/` */
  slackApiUrl: 'https://slack.com/api/',
  /** HubSpot API base, `HUBSPOT_BASE_URL` (README "Command line"). @defaultValue `https://api.hubapi.com` */
  hubspotBaseUrl: 'https://api.hubapi.com',

  /** The HTTP edge: what one client, or many at once, may hold. */
  http: {
    /** Largest webhook body, also once decompressed (`serve --max-body`; README "HTTP"). @defaultValue 1 MiB */
    maxBodyBytes: 1024 * 1024,
    /** Deepest JSON nesting of a webhook body; HuskyVoice's envelope is 2. @defaultValue 64 */
    maxJsonDepth: 64,
    /** An idle keep-alive connection stays open longer than Caddy (2 min) and nginx (60 s) keep theirs, so the proxy closes first. @defaultValue 125 s */
    keepAliveMs: 125_000,
    /** Time to receive one request, headers and body; then 408 `request_timeout`. Never applies to an idle connection. @defaultValue 30 s */
    requestTimeoutMs: 30_000,
    /** How often Node looks for requests past `requestTimeoutMs`. @defaultValue 1 s */
    timeoutCheckMs: 1_000,
    /** Smallest `--max-body` accepted (a HuskyVoice event is larger). @defaultValue 1 KiB */
    minBodyLimitBytes: 1024,
    /** Largest `--max-body` accepted; see `maxReadingBytes` for why. @defaultValue 32 MiB */
    maxBodyLimitBytes: 32 * 1024 * 1024,
    /**
     * Bytes of request bodies being received at once, across requests; past it 503 `server_busy`
     * at once, before a byte is read. Each request reserves its declared `Content-Length`, else
     * `--max-body`, and `--max-body` more when it must be decompressed; the reservation is given
     * back when its connection is done with the body. So the bodies in memory never exceed
     * 64 MiB, however many clients upload slowly (500 stalled 1 MiB uploads: 64 are read, 436
     * get 503), and after they close RSS comes back down: one request alone may exceed it only up
     * to 2 × `maxBodyLimitBytes`, which is this. `/metrics`: `husky_relay_http_reading_bytes`.
     * @defaultValue 64 MiB
     */
    maxReadingBytes: 64 * 1024 * 1024,
    /** A connection whose body was left unread (413, 503) is closed this long after its answer. @defaultValue 2 s */
    lingerMs: 2_000,
    /** At a graceful stop, a connection between requests closes once quiet this long, so a request on its way is answered, not reset. @defaultValue 1 s */
    stopQuietMs: 1_000,
    /** Shortest webhook secret accepted (characters); the generated one has 36. @defaultValue 16 */
    minWebhookSecretLength: 16,
  },

  /** Small files the relay reads and a user names or edits; anything else at their path (a FIFO, a device, a directory) is refused unread. */
  files: {
    /** Largest `.env` read (it holds a few variables). @defaultValue 1 MiB */
    maxDotEnvBytes: 1024 * 1024,
    /** Largest webhook secret file read (`<db folder>/webhook-secret`; a few secrets). @defaultValue 64 KiB */
    maxSecretFileBytes: 64 * 1024,
  },

  /** The log and its writer. */
  log: {
    /** How long a write waits for another process's write lock before it fails. @defaultValue 5 s */
    busyTimeoutMs: 5_000,
    /** The WAL is cut back to this after a checkpoint (`PRAGMA journal_size_limit`). @defaultValue 4 MiB */
    walSizeLimitBytes: 4 * 1024 * 1024,
    /**
     * `serve` checkpoints the WAL on a thread of its own this often (PASSIVE: it waits for no
     * one), so commits never do (see `log/sqlite/checkpoints.ts`); the writer checkpoints itself
     * only once the WAL holds `walSizeLimitBytes`. @defaultValue 100 ms
     */
    checkpointEveryMs: 100,
    /** Most entries one transaction takes; a longer queue commits in several. @defaultValue 2000 */
    maxCommitEntries: 2_000,
    /** Bytes of accepted events waiting for their commit; past it new events get 503 at once. @defaultValue 16 MiB */
    maxCommitWaitBytes: 16 * 1024 * 1024,
    /** A commit waiting this long means the writer is stuck; new events get 503 at once meanwhile. @defaultValue 1 s */
    commitStallMs: 1_000,
    /** A failed commit that may clear by itself keeps /readyz at 503 this long. @defaultValue 10 s */
    failedCommitMemoryMs: 10_000,
    /** How long `serve` or `replay --rebuild` waits for the database's lock before naming its holder. @defaultValue 250 ms */
    lockWaitMs: 250,
  },

  /** Loading and evaluating the rules file (README "Rules file", "When a rule fails at run time"). */
  rules: {
    /** Largest rules file read; a larger one, or one that is not a regular file (FIFO, device, directory), is a problem at 1:1, never read. @defaultValue 1 MiB */
    maxFileBytes: 1024 * 1024,
    /** Most aliases a rules file may expand (an alias bomb is a located error). @defaultValue 100 */
    maxYamlAliases: 100,
    /** Deepest nesting of the rules file. @defaultValue 64 */
    maxNesting: 64,
    /** Wall time one `when` or template may run before it is stopped; a step fails after `evalTimeAttempts` of them. @defaultValue 250 ms */
    evalTimeLimitMs: 250,
    /** Budgets a step gets before it fails as too slow. @defaultValue 2 */
    evalTimeAttempts: 2,
    /** Characters one template may render to. @defaultValue 1,000,000 */
    templateOutputLimitChars: 1_000_000,
    /** liquidjs `memoryLimit`: what one render may allocate, as liquidjs counts it. @defaultValue 10,000,000 */
    templateMemoryLimit: 10_000_000,
    /** liquidjs `parseLimit`: characters of one template's source. @defaultValue 100,000 */
    templateSourceLimitChars: 100_000,
    /** Structural limits of a `when` expression (cel-js `limits`), checked at load. */
    cel: { maxAstNodes: 1_000, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 16 },
    /** Compiled `matches` patterns kept for patterns that come from event data. @defaultValue 256 */
    regexCacheSize: 256,
    /**
     * Deepest a planned request may nest (`request_too_deep` beyond). Whatever ingest and the rules
     * file accept fits: an event at `http.maxJsonDepth` (64) wrapped by its request (the http
     * default body is the envelope), or a body template as deep as `maxNesting` (64), whose
     * templates render strings. Only an event logged before ingest limited nesting can pass it;
     * far below where `JSON.stringify`, structured clone and the SDKs overflow the stack.
     * @defaultValue 128
     */
    maxRequestDepth: 128,
    /** Characters of one planned request as JSON; a larger one is a plan failure. @defaultValue 4,000,000 */
    plannedRequestLimitChars: 4_000_000,
    /** Shortest http-sink signing key: the Standard Webhooks minimum (spec, "Signature scheme"). @defaultValue 24 bytes */
    minSigningKeyBytes: 24,
    /** Longest http-sink signing key: the Standard Webhooks maximum, 512 bits. @defaultValue 64 bytes */
    maxSigningKeyBytes: 64,
  },

  /** Planning: the router and `replay`. */
  routing: {
    /** Events the router plans per commit. @defaultValue 200 */
    routerBatch: 200,
    /** Events `replay` plans per commit. @defaultValue 500 */
    backfillBatch: 500,
  },

  /** Delivery (README "Delivery"). */
  delivery: {
    /** Attempts in flight per sink for deliveries without an order key (`concurrency`). @defaultValue 4 */
    concurrency: 4,
    /** Per-request timeout of a sink (`timeout`). @defaultValue 10 s */
    timeoutMs: 10_000,
    /** The retry policy every sink starts from (`retry`); @defaultValue 12 attempts, 10 s doubling to 1 h */
    retry: { max_attempts: 12, initial_delay_ms: 10_000, max_delay_ms: 3_600_000 },
    /** The backoff's jitter: each wait is ±this fraction. @defaultValue 0.2 */
    jitter: 0.2,
    /** A 429 without `Retry-After` waits this long, doubling per 429 in a row… @defaultValue 1 s */
    rateLimitFirstWaitMs: 1_000,
    /** …up to this. @defaultValue 1 min */
    rateLimitMaxWaitMs: 60_000,
    /** Router and dispatcher look for work at least this often, also for entries other processes append. @defaultValue 500 ms */
    pollMs: 500,
    /** How long running attempts may take to finish on shutdown (README "Delivery"). @defaultValue 10 s */
    shutdownGraceMs: 10_000,
    /** After an attempt could not be recorded, the first new try waits this long, doubling… @defaultValue 1 s */
    recordRetryInitialMs: 1_000,
    /** …up to this. @defaultValue 10 s */
    recordRetryMaxMs: 10_000,
    /** While shutting down, held outcomes are tried this often. @defaultValue 200 ms */
    shutdownRecordRetryMs: 200,
    /** An attempt that could not start (its plan could not be read: a damaged page) is tried again after this long. @defaultValue 5 s */
    startRetryMs: 5_000,
  },

  /** The pipeline thread (routing and delivery; README "How it is built"). */
  pipeline: {
    /** After it fails, it is started again after these waits, the last repeated. @defaultValue 1 s, 5 s, 30 s */
    restartDelaysMs: [1_000, 5_000, 30_000],
    /**
     * Several `serve` processes on one PostgreSQL log: routing and delivery run in the one that
     * holds the pipeline lease, for this long after its last renewal (so a killed holder's work
     * passes to another within it). @defaultValue 5 s
     */
    leaseTtlMs: 5_000,
    /** How often the holder renews the lease, and a standby tries to take it. @defaultValue 1 s */
    leaseRenewMs: 1_000,
    /**
     * The pipeline's own appends (plans, attempt outcomes) wait this long to share a commit (Kafka's
     * `linger.ms`); webhooks never do. Adds to a delivery's start and to how long an outcome is unrecorded
     * (a crash repeats that attempt). 25 against 3 ms: a quarter less CPU per event at 200/s (README "Soak"). @defaultValue 25 ms
     */
    appendLingerMs: 25,
    /**
     * Nice levels the pipeline thread runs below the rest of `serve` (Linux): under a full CPU
     * the webhooks' answers and commits come first, deliveries wait (`thread-priority.ts`). 0 keeps
     * it level. 5 gives it a quarter of a core it shares with a busy thread of the rest (the
     * kernel's weights: 335 against 1024); 10 (a tenth) slowed the bench's dispatch in one of two runs. @defaultValue 5
     */
    niceness: 5,
    /**
     * A commit wakes routing and delivery this long after it, at most once per this long
     * (`delivery/wakeup.ts` `lingering`): one look then takes every event committed meanwhile.
     * It is what an event's delivery may wait on top of its routing. @defaultValue 20 ms
     */
    wakeLingerMs: 20,
  },

  /** Operator events: paused sinks and stale work (README "When a rule fails at run time"). */
  alerts: {
    /** `alerts.pending_after` in the rules file: a sink whose oldest open delivery is older gets `pending.stale`. @defaultValue 15 min */
    pendingAfterMs: 15 * 60_000,
    /** A sink paused for refused credentials tries one probe attempt this often (and once at start). @defaultValue 10 min */
    probeIntervalMs: 10 * 60_000,
  },

  /** What a failed attempt's error keeps of a sink's answer. */
  errors: {
    /** Characters of a failed answer in an error message, counted after redaction. @defaultValue 200 */
    detailChars: 200,
    /** An error message as recorded, at most. @defaultValue 500 characters */
    messageChars: 500,
    /** Bytes of a failed answer's body read at most. @defaultValue 64 KiB */
    bodyReadBytes: 64 * 1024,
    /** A remote service's error code is cut to this. @defaultValue 64 characters */
    codeChars: 64,
    /** The shortest run of a secret's characters masked wherever it appears (≈ 48 bits of a random token). @defaultValue 8 */
    minSecretFragment: 8,
  },

  /** `replay --rebuild` and `--verify`. */
  rebuild: {
    /** Entries projected per scratch transaction, and between progress reports. @defaultValue 20,000 */
    batch: 20_000,
    /** Rows per table kept in memory while folding, before the oldest are written. @defaultValue 2,000 */
    foldRows: 2_000,
    /** Rows written at once when a folding table is full. @defaultValue 500 */
    foldEvict: 500,
    /** Log entries read from SQLite at once while rebuilding (one `.all()`, a few MB). @defaultValue 2,000 */
    readRows: 2_000,
    /** From this many entries on, the log is read on a thread beside the fold, which then only parses it (`log-pages.ts`). @defaultValue 50,000 */
    readAsideEntries: 50_000,
    /** From this many entries on, the damage check of the live tables (`quick_check`) runs on a thread beside the fold; below it, starting the thread costs more than the check. @defaultValue 50,000 */
    checkAsideEntries: 50_000,
  },

  /** The web console under `/ui/` (README "Console"). */
  console: {
    /** A session ends after this long without a request. @defaultValue 12 h */
    sessionIdleMs: 12 * 60 * 60 * 1000,
    /** Wrong tokens allowed per client address within `signInWindowMs`, then 429. @defaultValue 5 */
    signInFailures: 5,
    /** The sign-in rate limit's window. @defaultValue 15 min */
    signInWindowMs: 15 * 60 * 1000,
    /** Sessions kept at most (sign-in pages opened by anyone make some). @defaultValue 10,000 */
    maxSessions: 10_000,
    /** Rows per page of events and deliveries. @defaultValue 50 */
    pageRows: 50,
    /** How often the live updates look for new entries. @defaultValue 1 s */
    livePollMs: 1000,
    /** The largest form accepted (a pasted event for the rules test). @defaultValue 1 MiB */
    maxFormBytes: 1024 * 1024,
    /** How long the overview's counts (`status`) are reused while the log grows. @defaultValue 2 s */
    statusCacheMs: 2_000,
    /** SQLite: reads waiting for or running on the console's read thread at most; past it, 503 `reads_unavailable`. @defaultValue 64 */
    maxQueuedReads: 64,
    /** SQLite: a console read running longer than this is given up (503) and its thread started again. @defaultValue 30 s */
    readTimeoutMs: 30_000,
  },

  /** `send`: how long it waits for the whole answer unless `--timeout` says (README "Command line"). @defaultValue 30 s */
  send: { timeoutMs: 30_000 },
} as const;
