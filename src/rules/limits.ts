import { Script, createContext } from 'node:vm';

/**
 * Every bound on evaluating rules, in one place (SPEC §10: a rule that exceeds one fails,
 * it never stalls the relay). Planning runs on the thread that answers webhooks, so each
 * `when` and each template gets a small time budget; exceeding it is a rule failure.
 */

/**
 * Wall time after which one `when` evaluation or template render is stopped, whatever it is
 * doing (a Liquid loop, a CEL comprehension, a filter): what one rule may hold the thread that
 * answers webhooks. A step stopped once is run once more with a whole budget (the first may
 * have been a cold start, a garbage collection or a busy machine), so a step fails after
 * twice this, and an ordinary render never fails for the machine's sake. (Default: 250 ms)
 */
export const EVAL_TIME_LIMIT_MS = 250;

/** Budgets a step gets before it fails as too slow (see `EVAL_TIME_LIMIT_MS`). (Default: 2) */
export const EVAL_TIME_ATTEMPTS = 2;

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

/** One unit of planning work: a `when` or an action. */
export interface Step {
  run(): void;
  /**
   * Whether it can run long: it loops over data (a Liquid `for`, a CEL comprehension or
   * `cel.bind`). Others are linear in the event's size (and Liquid's allocations are counted),
   * so they run without the watchdog, which costs far more than they do.
   */
  unbounded: boolean;
}

/**
 * Runs `steps` in order and says which ones ran out of time. An unbounded step runs within
 * `limitMs` of wall time: node:vm's watchdog terminates the running JavaScript (a loop inside a
 * library included), so nothing holds the thread longer than the limit at a time. Consecutive
 * unbounded steps share one watchdog while they are quick: when it fires, the step running
 * then gets a whole budget of its own, and only a step that uses up `EVAL_TIME_ATTEMPTS` whole
 * budgets is reported. Steps must catch their own errors; a step is pure, so running it again
 * is harmless.
 */
export function runBoundedSteps(steps: readonly Step[], limitMs = EVAL_TIME_LIMIT_MS): Set<number> {
  const timedOut = new Set<number>();
  let next = 0;
  let strikes = 0;
  while (next < steps.length) {
    if (!steps[next]!.unbounded) {
      steps[next]!.run();
      next += 1;
      continue;
    }
    const first = next;
    sandbox.task = () => {
      for (; next < steps.length && steps[next]!.unbounded; next += 1) steps[next]!.run();
    };
    try {
      runTask.runInContext(sandbox, { timeout: limitMs });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw error;
      // a step that had a whole budget to itself and used it up: once more, then it fails
      strikes = next === first ? strikes + 1 : 0;
      if (strikes >= EVAL_TIME_ATTEMPTS) {
        timedOut.add(next);
        next += 1;
        strikes = 0;
      }
    } finally {
      sandbox.task = null;
    }
  }
  return timedOut;
}
