import type { CreateSinkOptions } from './kind.js';
import { sinkKind } from './registry.js';
import type { Sink, SinkConfig, SinkEnvironment } from './types.js';

export type { CreateSinkOptions } from './kind.js';

/**
 * One sink from its rules.yaml declaration, built by its kind (`registry.ts`): what the
 * dispatcher calls. Throws (naming the sink and option) on an unusable config.
 */
export function createSink(name: string, config: SinkConfig, env: SinkEnvironment, opts: CreateSinkOptions = {}): Sink {
  return sinkKind(config.type).create(name, config, env, opts);
}

/**
 * The sink's credentials as one string (its kind's `secrets`), to tell whether a reload changed
 * them (README "When a rule fails at run time": a paused sink resumes then). Kept in memory only: never logged, never stored.
 */
export function credentialsOf(config: SinkConfig): string {
  return JSON.stringify(sinkKind(config.type).secrets(config));
}
