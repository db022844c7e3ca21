import { Liquid, type Template } from 'liquidjs';
import { formatSeconds } from './duration.js';
import { RuleLimitError } from './bounded-steps.js';
import { clockReadIn, registerDateFilters } from './template-dates.js';
import { DEFAULTS } from '../config/defaults.js';

/** What templates and `when` expressions see (README "Rules file"). Nothing else: no env, no clock. */
export interface Scope {
  event: Record<string, unknown>;
  data: Record<string, unknown>;
  seq: number;
  received_at: string;
}

/**
 * How the values a template prints are escaped for where its output goes (a sink kind's
 * markup, e.g. Slack mrkdwn in `sinks/slack/escape.ts`). A template without one prints
 * values as they are. Each dialect gets its own engine, made once.
 */
export interface TemplateDialect {
  /** liquidjs `outputEscape`: applied once to every value a template prints. */
  outputEscape(value: unknown): unknown;
  /** Changes the engine needs besides (filters and tags that must escape, or mark, differently). */
  configure(engine: Liquid): void;
}

function makeEngine(dialect: TemplateDialect | undefined): Liquid {
  const engine = new Liquid({
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    // No file system: include/render/layout cannot read anything (and are refused below).
    templates: {},
    relativeReference: false,
    // Bounds (README "When a rule fails at run time"): liquidjs counts source and allocations as it goes. Time is bounded by
    // `runBoundedSteps`, not by liquidjs' `renderLimit`: that one measures wall time from the
    // render's start and fails at once, so a busy machine would fail an ordinary render.
    parseLimit: DEFAULTS.rules.templateSourceLimitChars,
    memoryLimit: DEFAULTS.rules.templateMemoryLimit,
    // Dates print in UTC, in English, whatever the host's zone and locale.
    timezoneOffset: 0,
    locale: 'en-US',
    // a dialect's escape may return a marked value rather than a string (see sinks/slack/escape.ts)
    ...(dialect ? { outputEscape: dialect.outputEscape as (value: unknown) => string } : {}),
  });
  for (const tag of ['include', 'render', 'layout']) {
    engine.registerTag(tag, {
      parse() {
        throw new Error(`the "${tag}" tag is not allowed in rules templates`);
      },
      render() {
        return '';
      },
    });
  }
  engine.registerFilter('duration', formatSeconds);
  registerDateFilters(engine);
  dialect?.configure(engine);
  return engine;
}

const engines = new Map<TemplateDialect | undefined, Liquid>();

function engineFor(dialect: TemplateDialect | undefined): Liquid {
  let engine = engines.get(dialect);
  if (!engine) engines.set(dialect, (engine = makeEngine(dialect)));
  return engine;
}

export interface CompiledTemplate {
  source: string;
  /** The scope paths it reads (`['data', 'summary']`), for `rules check` warnings. */
  reads?: (string | number)[][];
  /** It may loop over data (`for`, `tablerow`): its time is not bounded by its size. */
  loops?: boolean;
  /** Throws when the template fails on these values or exceeds a bound (`limits.ts`). */
  render(scope: Scope): string;
}

/**
 * A tag that repeats its body (also inside `{% liquid %}`). Conservative: the word anywhere in
 * a tag counts. Without one, a render's time follows the data's size and the allocations
 * liquidjs counts (`memoryLimit`).
 */
const LOOP_TAG = /\{%[\s\S]*?\b(for|tablerow)\b[\s\S]*?%\}/;

/** What liquidjs' static analysis finds the template reading; none if it cannot tell. */
function staticReads(engine: Liquid, parsed: Template[]): (string | number)[][] {
  try {
    return engine.globalVariableSegmentsSync(parsed).map((segments) => segments.filter((s): s is string | number => typeof s !== 'object'));
  } catch {
    return [];
  }
}

/**
 * Parses once (throws with a one-line reason on a bad template); renders synchronously.
 * `dialect` escapes what it prints (plain when absent).
 */
export function compileTemplate(source: string, dialect?: TemplateDialect): CompiledTemplate {
  const engine = engineFor(dialect);
  const clock = clockReadIn(source);
  if (clock) throw new Error(clock);
  const parsed: Template[] = engine.parse(source);
  return {
    source,
    reads: staticReads(engine, parsed),
    loops: LOOP_TAG.test(source),
    render: (scope) => {
      const out = String(engine.renderSync(parsed, scope));
      if (out.length > DEFAULTS.rules.templateOutputLimitChars) {
        throw new RuleLimitError(`rendered ${out.length} characters, over the limit of ${DEFAULTS.rules.templateOutputLimitChars}`);
      }
      return out;
    },
  };
}
