import { Liquid, type Template } from 'liquidjs';
import { formatSeconds } from './duration.js';

/** What templates and `when` expressions see (SPEC §6). Nothing else: no env, no clock. */
export interface Scope {
  event: Record<string, unknown>;
  data: Record<string, unknown>;
  seq: number;
  received_at: string;
}

/** Slack mrkdwn control characters (Slack's "escaping text" guide): only these three. */
export function escapeSlack(value: unknown): string {
  const text = value == null ? '' : String(value);
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function makeEngine(escape: boolean): Liquid {
  const engine = new Liquid({
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    // No file system: include/render/layout cannot read anything (and are refused below).
    templates: {},
    relativeReference: false,
    ...(escape ? { outputEscape: escapeSlack } : {}),
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
  // `raw` normally skips outputEscape; in Slack text it must not, or data could ping @channel.
  if (escape) engine.registerFilter('raw', (v: unknown) => v);
  return engine;
}

const plainEngine = makeEngine(false);
const slackEngine = makeEngine(true);

export type TemplateKind = 'plain' | 'slack';

export interface CompiledTemplate {
  source: string;
  render(scope: Scope): string;
}

/** Parses once (throws with liquidjs' message on a bad template); renders synchronously. */
export function compileTemplate(source: string, kind: TemplateKind = 'plain'): CompiledTemplate {
  const engine = kind === 'slack' ? slackEngine : plainEngine;
  const parsed: Template[] = engine.parse(source);
  return {
    source,
    render: (scope) => String(engine.renderSync(parsed, scope, { templateLimit: 100_000, memoryLimit: 1e8 })),
  };
}
