/**
 * Every bound of delivery and of the sinks, in one place (SPEC §7). Durations in ms.
 */

/** Attempts in flight per sink for deliveries without an order_key. (Default: 4) */
export const DEFAULT_CONCURRENCY = 4;

/** Per-request timeout of a sink, unless the sink sets `timeout_ms`. (Default: 10 s) */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * After an attempt's outcome could not be appended (disk full, read-only, locked), the first
 * new try to record it waits this long, doubling up to `RECORD_RETRY_MAX_MS`. No attempt
 * starts meanwhile. (Default: 1 s)
 */
export const RECORD_RETRY_INITIAL_MS = 1000;

/** The longest wait between two tries to record held outcomes. (Default: 10 s) */
export const RECORD_RETRY_MAX_MS = 10_000;

/** While shutting down, held outcomes are tried this often until the grace period ends. (Default: 200 ms) */
export const SHUTDOWN_RECORD_RETRY_MS = 200;

/**
 * How much of a failed answer goes into an error message, counted after secrets are
 * redacted. (Default: 200 characters)
 */
export const ERROR_DETAIL_CHARS = 200;

/** An error message as recorded, at most: its own words plus an excerpt. (Default: 500 characters) */
export const ERROR_MESSAGE_CHARS = 500;

/** How much of a failed answer's body is read at most; the rest is never looked at. (Default: 64 KiB) */
export const ERROR_BODY_READ_BYTES = 64 * 1024;

/** A code a remote service gave (Slack's `error`) is cut to this length. (Default: 64 characters) */
export const ERROR_CODE_CHARS = 64;

/**
 * The shortest run of a secret's characters that is masked wherever it appears: also a
 * secret cut at the edge of an excerpt, or quoted in part. Eight characters of a random
 * token carry about 48 bits, enough to matter; shorter runs turn up in ordinary text (a
 * token-kind prefix such as `xoxb-` names no one's token). A secret shorter than this is
 * masked only whole. (Default: 8 characters)
 */
export const MIN_SECRET_FRAGMENT = 8;
