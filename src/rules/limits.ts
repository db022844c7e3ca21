import { Script, createContext } from 'node:vm';

/**
 * Every bound on evaluating rules, in one place (SPEC §10: a rule that exceeds one fails,
 * it never stalls the relay). Planning runs on the thread that answers webhooks, so each
 * `when` and each template gets a small time budget; exceeding it is a rule failure.
 */

/**
 * Render time of one template, as liquidjs measures it between the steps of a render (its
 * `renderLimit`: loops and tags check it). (Default: 100 ms)
 */
export const EVAL_TIME_LIMIT_MS = 100;

/**
 * Wall time after which any one `when` evaluation or template render is stopped, whatever it
 * is doing (a CEL comprehension, a filter, a regular expression): the most one rule can hold
 * the thread that answers webhooks. Above `EVAL_TIME_LIMIT_MS` so that a render liquidjs can
 * measure fails with its own message, and so that a garbage collection or a busy machine does
 * not fail an ordinary render. (Default: 250 ms)
 */
export const EVAL_HARD_LIMIT_MS = 250;

/** Characters one template may render to. (Default: 1,000,000: 1 MB of ASCII) */
export const TEMPLATE_OUTPUT_LIMIT_CHARS = 1_000_000;

/**
 * liquidjs `memoryLimit`: what filters, ranges and loops may allocate in one render, counted in
 * characters and array elements as liquidjs counts them. (Default: 10,000,000)
 */
export const TEMPLATE_MEMORY_LIMIT = 10_000_000;

/** liquidjs `parseLimit`: characters of one template's source. (Default: 100,000) */
export const TEMPLATE_SOURCE_LIMIT_CHARS = 100_000;

/**
 * Structural limits on a `when` expression, checked when the file loads (cel-js `limits`).
 * A condition is a line or two; these only stop a pathological one. (Default: 1,000 AST nodes,
 * nesting 32, 100 list elements or map entries in a literal, 16 call arguments)
 */
export const CEL_PARSE_LIMITS = {
  maxAstNodes: 1_000,
  maxDepth: 32,
  maxListElements: 100,
  maxMapEntries: 100,
  maxCallArguments: 16,
} as const;

/**
 * Characters of one planned request as JSON (what the log stores for a delivery). A request
 * over it is a plan failure. (Default: 4,000,000)
 */
export const PLANNED_REQUEST_LIMIT_CHARS = 4_000_000;

/** Thrown when a bound is exceeded; its message names the bound. */
export class RuleLimitError extends Error {
  readonly code = 'rule_limit_exceeded';
  constructor(message: string) {
    super(message);
    this.name = 'RuleLimitError';
  }
}

// One context and one script, reused: creating them costs far more than running them.
const sandbox = createContext({ task: null as null | (() => void) });
const runTask = new Script('task()');

/**
 * Runs `steps` in order, each within `limitMs` of wall time, and says which ones ran out of
 * time. A step is preempted (node:vm's watchdog terminates the running JavaScript, including a
 * regular expression backtracking or a loop inside a library), so nothing synchronous can
 * hold the thread longer than the limit. Steps share one watchdog while they are quick: when it
 * fires, the step running then is retried once with a whole budget of its own, and only a step
 * that uses a whole budget alone is reported. Steps must catch their own errors; a step is
 * pure, so running it twice is harmless.
 */
export function runBoundedSteps(steps: readonly (() => void)[], limitMs = EVAL_HARD_LIMIT_MS): Set<number> {
  const timedOut = new Set<number>();
  let next = 0;
  while (next < steps.length) {
    const first = next;
    sandbox.task = () => {
      for (; next < steps.length; next += 1) steps[next]!();
    };
    try {
      runTask.runInContext(sandbox, { timeout: limitMs });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw error;
      // the step that had the budget to itself is the one that is too slow
      if (next === first) {
        timedOut.add(next);
        next += 1;
      }
    } finally {
      sandbox.task = null;
    }
  }
  return timedOut;
}
