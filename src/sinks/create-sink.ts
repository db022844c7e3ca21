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
