import type { z } from 'zod';
import type { YamlPath } from '../rules/interpolate.js';
import type { CompiledTemplate, Scope, TemplateDialect } from '../rules/liquid.js';
import type { TemplateTree } from '../rules/template-tree.js';
import type { RoutedEvent } from '../rules/types.js';
import type { SinkDeclarationOf } from './common-options.js';
import type { Sink, SinkCommonOptions, SinkEnvironment } from './types.js';

/**
 * A sink kind (slack, hubspot, http, log): everything the relay knows about one kind of
 * destination, in one folder under `sinks/`, exported as one object (model: hookdeck/outpost's
 * destregistry `Provider`). The rules loader, the planner and the dispatcher reach a kind only
 * through `SINK_KINDS` (`registry.ts`); nothing else names a kind. Its life in order:
 *
 *   rules.yaml sink  ─configSchema→ declaration ─(toSinkConfig)→ Config ─create→ Sink
 *   rules.yaml action ─actionSchema→ Action ─check→ problems
 *                                    Action ─compile→ Compiled ─render(event)→ Request
 *   Request (in `delivery.planned`) ─requestSchema→ what the Sink's `send` sends
 *
 * `secrets(config)` is what redaction masks in every error an attempt records.
 */
export interface SinkKind<Config extends SinkConfigBase = SinkConfigBase, Action = unknown, Compiled = unknown, Request extends Record<string, unknown> = Record<string, unknown>> {
  /** The `type` a declaration in rules.yaml names it by. */
  readonly type: Config['type'];
  /** A sink declaration in rules.yaml (`sinks.<name>`), shape only; built with `sinkDeclaration`. */
  readonly configSchema: z.ZodType<SinkDeclarationOf<Config>>;
  /** An action naming a sink of this kind (`rules[].actions[]`), shape only; shown to editors. */
  readonly actionSchema: z.ZodType<Action>;
  /**
   * What a rendered action is, and what the sender reads back from `delivery.planned.request`:
   * the one declaration of the request's shape (`Request` is inferred from it).
   */
  readonly requestSchema: z.ZodType<Request>;
  /** Problems of a shape-valid declaration that its shape cannot say (a signing secret too short to sign). */
  checkConfig(config: SinkDeclarationOf<Config>, report: Report): void;
  /** Problems of a shape-valid action that its shape cannot say (Slack needs text or blocks). */
  check(action: Action, report: Report): void;
  /** Parses every template of the action once; a bad one is reported at its path by `templates`. */
  compile(action: Action, templates: TemplateCompiler): Compiled;
  /**
   * The request for one event, exactly as it will be sent (secrets are added by the sender).
   * `received` is the exact text HuskyVoice sent (the `event.received` body) for a HuskyVoice
   * event, undefined for an operator event, which has no bytes of its own: a kind that forwards
   * "the original envelope" (SPEC §6, the HTTP sink) sends these bytes, not `event` serialized
   * again (which would round numbers past 2^53 and change `1.50` to `1.5`).
   * Pure; throws when a template fails or exceeds a bound (the delivery goes dead with why).
   */
  render(compiled: Compiled, scope: Scope, event: RoutedEvent, received?: string): Rendered<Request>;
  /** The sender. Throws (naming the sink and option) on a config it cannot use. */
  create(name: string, config: Config, env: SinkEnvironment, opts: CreateSinkOptions): Sink;
  /** Every value of the config that redaction must mask wherever an error could quote it. */
  secrets(config: Config): string[];
  /**
   * `erase --downstream` (README "Personal data"): the request that undoes, at the sink, what a
   * succeeded delivery of an erased call left there, from that delivery's `result`; null when
   * it left nothing to undo. Absent: the kind has nothing to erase.
   */
  erasure?(result: Record<string, unknown>, callId: string): Record<string, unknown> | null;
  /**
   * Where the console links a delivery's `result` (README "Console"): null when the config
   * does not say enough (a HubSpot sink without `portal_id`). Absent: results are not linked
   * this way. Plain data: it crosses from the pipeline thread to the console's.
   */
  resultLink?(config: Config): ResultLink | null;
}

/**
 * A link to what a delivery left at the sink. `href` holds `{field}` placeholders, each
 * replaced by that field of the delivery's `result`, or `{field:digits}`, by its digits only (a
 * Slack `ts` `1700000000.000100` is `p1700000000000100` in a message's permalink); a result
 * lacking one, or holding anything but letters, digits, `.`, `_` and `-` there, gets no link.
 */
export interface ResultLink {
  label: string;
  href: string;
}

/**
 * `link` filled in from `result`, or null (a placeholder missing from the result, or a value
 * with other characters than `[A-Za-z0-9._-]`, which could change where the link goes).
 */
export function resultHref(link: ResultLink, result: Record<string, unknown>): string | null {
  let ok = true;
  const href = link.href.replace(/\{(\w+)(:digits)?\}/g, (_, field: string, digits: string | undefined) => {
    const value = result[field];
    if (typeof value !== 'string' || !/^[A-Za-z0-9._-]+$/.test(value)) ok = false;
    return digits ? String(value).replace(/\D/g, '') : String(value);
  });
  return ok ? href : null;
}

/** What every kind's config has: its `type` and the common options (in ms). */
export type SinkConfigBase = { type: string } & SinkCommonOptions;

/**
 * A problem at a path relative to the declaration or action being checked: an error (the file
 * does not load) unless `severity` is `warning` (`rules check` prints it; the file loads).
 */
export type Report = (path: YamlPath, message: string, severity?: 'error' | 'warning') => void;

/**
 * Thrown by a kind's `render` when the rendered request can never be sent as it is (a Slack
 * button url over Slack's limit, which cannot be cut): the delivery is planned and goes dead at
 * once with `invalid_request` and this message, naming the field; nothing is sent.
 */
export class UnsendableRequestError extends Error {
  readonly code = 'invalid_request';
  constructor(message: string) {
    super(message);
    this.name = 'UnsendableRequestError';
  }
}

/** One rendered action. */
export interface Rendered<Request> {
  request: Request;
  /** Deliveries with the same sink and order key go one at a time, in order (a thread, an upsert); null if none or empty. */
  order_key: string | null;
  /** What was changed to fit the destination (Slack text cut to its limits), for `rules test`. */
  warnings?: string[];
}

/** How a kind's `compile` parses its templates (given by the rules loader). */
export interface TemplateCompiler {
  /** One template at `path` in the action; `dialect` escapes what it prints (plain when absent). */
  template(source: string, path: YamlPath, dialect?: TemplateDialect): CompiledTemplate;
  /** Every string of a YAML value as a template; `dialectOf` picks each one's dialect from its path and parent. */
  tree(value: unknown, path: YamlPath, dialectOf?: (path: YamlPath, parent: unknown) => TemplateDialect | undefined): TemplateTree;
}

export interface CreateSinkOptions {
  /** Clock in ms since the epoch: Retry-After dates, `webhook-timestamp`. (Default: Date.now) */
  now?: () => number;
  /** Where the `log` sink prints. (Default: a line on stdout) */
  write?: (line: string) => void;
}
