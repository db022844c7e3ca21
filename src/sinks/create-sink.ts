import { createHttpSink } from './http.js';
import { createHubspotSink } from './hubspot.js';
import { createLogSink } from './log.js';
import { createSlackSink } from './slack.js';
import type { Sink, SinkConfig, SinkEnvironment } from './types.js';

export interface CreateSinkOptions {
  /** Clock in ms since the epoch: Retry-After dates, `webhook-timestamp`. (Default: Date.now) */
  now?: () => number;
  /** Where the `log` sink prints. (Default: a line on stdout) */
  write?: (line: string) => void;
}

/** One sink from its rules.yaml declaration. Throws (naming the option) on an unusable config. */
export function createSink(name: string, config: SinkConfig, env: SinkEnvironment, opts: CreateSinkOptions = {}): Sink {
  const now = opts.now ?? Date.now;
  switch (config.type) {
    case 'slack':
      return createSlackSink(name, config, { slackApiUrl: env.slackApiUrl, now });
    case 'hubspot':
      return createHubspotSink(name, config, { hubspotBaseUrl: env.hubspotBaseUrl, now });
    case 'http':
      return createHttpSink(name, config, { now });
    case 'log':
      return createLogSink(name, config, opts.write ?? ((line) => void process.stdout.write(`${line}\n`)));
  }
}
