import type { CompiledWhen } from './cel.js';

/**
 * Start-up proof that `matches` runs on RE2 (see `useRe2ForMatches`): `(?i)` is RE2 syntax
 * that JavaScript's RegExp refuses. If a cel-js upgrade changed how calls are evaluated, the
 * relay stops here rather than run user patterns on a backtracking engine.
 */
export function assertRe2Matches(compile: (source: string) => CompiledWhen): void {
  const probe = compile('received_at.matches("(?i)^abc$")');
  const result = probe.evaluate({ event: {}, data: {}, seq: 0, received_at: 'ABC' });
  if (result.matched !== true) {
    throw new Error(`internal: CEL matches does not run on RE2 (${result.error ?? 'no match'}); check the cel-js version`);
  }
}

/**
 * Start-up proof that CEL reads timestamps the relay's way (see `useRelayDates`): cel-js' own
 * `timestamp()` refuses a zone-less date-time, which the relay reads as UTC.
 */
export function assertRelayDates(compile: (source: string) => CompiledWhen): void {
  const probe = compile('timestamp(received_at).getHours() == 10 && timestamp(received_at).getDayOfYear("+00:00") == 151');
  const result = probe.evaluate({ event: {}, data: {}, seq: 0, received_at: '2026-06-01T10:00:00' });
  if (result.matched !== true) {
    throw new Error(`internal: CEL timestamps are not read by the relay (${result.error ?? 'no match'}); check the cel-js version`);
  }
}
