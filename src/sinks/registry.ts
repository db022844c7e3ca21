import { httpKind } from './http/index.js';
import { hubspotKind } from './hubspot/index.js';
import type { SinkKind } from './kind.js';
import { logKind } from './log/index.js';
import { slackKind } from './slack/index.js';

/**
 * Every sink kind by its `type`: the one place that lists them. The rules loader (schema,
 * checks, compile), the planner (render) and the dispatcher (create) look a kind up here;
 * adding a kind is a folder under `sinks/` and a line here. The order is the order the
 * rules JSON Schema offers them in.
 */
export const SINK_KINDS = {
  slack: slackKind,
  hubspot: hubspotKind,
  http: httpKind,
  log: logKind,
} as const satisfies { [Type in string]: { readonly type: Type } };

export type SinkType = keyof typeof SINK_KINDS;

type ConfigOf<Kind> = Kind extends { create(name: string, config: infer Config, ...rest: never[]): unknown } ? Config : never;

/** A sink's config as its sender takes it, whatever its kind (`type` tells which). */
export type SinkConfig = { [Type in SinkType]: ConfigOf<(typeof SINK_KINDS)[Type]> }[SinkType];

/** The kinds in registry order, as the rules loader and the planner see them: by `type` only. */
export const SINK_KIND_LIST: readonly SinkKind[] = Object.values(SINK_KINDS);

export function isSinkType(value: unknown): value is SinkType {
  return typeof value === 'string' && Object.hasOwn(SINK_KINDS, value);
}

/** The kind of a sink type, seen through the interface every kind shares. */
export function sinkKind(type: SinkType): SinkKind {
  return SINK_KINDS[type];
}
