import type { RetryPolicy, SinkConfig } from '../sinks/types.js';
import type { CompiledWhen } from './cel.js';
import type { CompiledTemplate } from './liquid.js';
import type { Problem } from './problem.js';

/** A YAML value whose strings are templates, rendered into plain JSON. */
export type TemplateTree =
  | { kind: 'template'; template: CompiledTemplate }
  | { kind: 'list'; items: TemplateTree[] }
  | { kind: 'map'; entries: [string, TemplateTree][] }
  | { kind: 'value'; value: unknown };

interface ActionBase {
  sink: string;
  /** Position in the rule's `actions`; part of the delivery id. */
  index: number;
  /** A template of it loops over data: it renders under the watchdog (`runBoundedSteps`). */
  unbounded: boolean;
}

export interface SlackAction extends ActionBase {
  type: 'slack';
  channel: CompiledTemplate;
  text?: CompiledTemplate;
  blocks?: TemplateTree;
  thread_key?: CompiledTemplate;
  replace?: boolean;
  broadcast?: boolean;
}

export interface HubspotAction extends ActionBase {
  type: 'hubspot';
  create: 'call' | 'note';
  contact: { id?: CompiledTemplate; email?: CompiledTemplate; phone?: CompiledTemplate };
  if_no_contact: 'fail' | 'skip' | 'create';
  properties: Record<string, CompiledTemplate>;
  upsert_key?: CompiledTemplate;
}

export interface HttpAction extends ActionBase {
  type: 'http';
  method: 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, CompiledTemplate>;
  /** Absent: the original envelope is sent. */
  body?: TemplateTree;
}

export interface LogAction extends ActionBase {
  type: 'log';
  text?: CompiledTemplate;
  fields?: TemplateTree;
}

export type CompiledAction = SlackAction | HubspotAction | HttpAction | LogAction;

export interface EventMatcher {
  /** As written: a type, or a glob with `*`. */
  patterns: string[];
  matches(eventType: string): boolean;
}

export interface CompiledRule {
  id: string;
  description?: string;
  on: EventMatcher;
  when?: CompiledWhen;
  actions: CompiledAction[];
}

export interface LoadedSink {
  config: SinkConfig;
  /** False when a `${VAR}` it needs is unset: its deliveries wait as pending. */
  enabled: boolean;
  disabled_reason?: string;
}

export interface LoadedRules {
  path: string;
  /** sha256 of the file's bytes, hex: `rules_hash` in the log. */
  hash: string;
  sinks: Record<string, LoadedSink>;
  /** The file's `retry`, over the defaults (12, 10 s, 1 h); a sink's own `retry` overrides it. */
  retry: RetryPolicy;
  rules: CompiledRule[];
}

export type LoadResult =
  | { ok: true; rules: LoadedRules; warnings: Problem[] }
  /** `problems` holds the errors and the warnings, in file order. */
  | { ok: false; problems: Problem[] };

export interface LoadOptions {
  /** Unset `${VAR}` in a sink is an error instead of a warning (`rules check --strict`). */
  strict?: boolean;
}
