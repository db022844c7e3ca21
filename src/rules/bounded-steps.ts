import { Script, createContext } from 'node:vm';
import { DEFAULTS } from '../config/defaults.js';

/**
 * Running rules within their bounds (README "When a rule fails at run time": a rule that exceeds one fails, it never stalls
 * the relay). Each `when` and each template gets a small time budget (`DEFAULTS.rules`);
 * exceeding it is a rule failure.
 */

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
 * then gets a whole budget of its own, and only a step that uses up `DEFAULTS.rules.evalTimeAttempts` whole
 * budgets is reported. Steps must catch their own errors; a step is pure, so running it again
 * is harmless.
 */
export function runBoundedSteps(steps: readonly Step[], limitMs = DEFAULTS.rules.evalTimeLimitMs): Set<number> {
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
      if (strikes >= DEFAULTS.rules.evalTimeAttempts) {
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
