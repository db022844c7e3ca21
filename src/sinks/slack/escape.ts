import type { Context, Liquid } from 'liquidjs';
import type { TemplateDialect } from '../../rules/liquid.js';

type TagClass = Liquid['tags'][string];

/** Slack mrkdwn control characters (Slack's "escaping text" guide): only these three. */
export function escapeSlack(value: unknown): string {
  const text = value == null ? '' : String(value);
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Text that is already Slack mrkdwn: the template author's own markup with every value in it
 * escaped once (what a `{% capture %}` rendered, or what `| escape` made). Output leaves it as
 * is, so nothing is escaped twice. Only the engine makes these: event data is JSON and can
 * never be one, so data still cannot produce `<!channel>`, a link or a mention.
 */
export class SlackMrkdwn {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  // Compared as its text (liquidjs' Comparable), so `{% if c == "x" %}` works on a capture.
  // Not a liquidjs Drop: tags unwrap a Drop before escaping, which would escape it again.
  get length(): number {
    return this.text.length;
  }
  equals(other: unknown): boolean {
    return this.text === textOf(other);
  }
  gt(other: unknown): boolean {
    return this.text > textOf(other);
  }
  geq(other: unknown): boolean {
    return this.text >= textOf(other);
  }
  lt(other: unknown): boolean {
    return this.text < textOf(other);
  }
  leq(other: unknown): boolean {
    return this.text <= textOf(other);
  }
  indexOf(search: unknown): number {
    return this.text.indexOf(textOf(search));
  }
}

function textOf(value: unknown): string {
  return value instanceof SlackMrkdwn ? value.text : String(value);
}

/** The Slack engine's `outputEscape`: escapes a value once; mrkdwn made by the engine passes. */
export function slackOutputEscape(value: unknown): unknown {
  return value instanceof SlackMrkdwn ? value : escapeSlack(value);
}

/**
 * Makes a Liquid engine escape for Slack exactly once: `escape` (and its aliases) escape the
 * three mrkdwn characters and mark the result, `raw` does not skip escaping (data could ping
 * @channel otherwise), and `capture` keeps what it rendered marked, so printing a capture does
 * not escape its already escaped values again.
 */
export function escapeOnceForSlack(engine: Liquid): void {
  const mark = (v: unknown) => (v instanceof SlackMrkdwn ? v : new SlackMrkdwn(escapeSlack(v)));
  for (const name of ['escape', 'escape_once', 'xml_escape']) engine.registerFilter(name, mark);
  engine.registerFilter('raw', (v: unknown) => v);
  // liquidjs' own capture, storing what it rendered as marked mrkdwn instead of a string
  const Capture = engine.tags['capture'] as unknown as new (...args: never[]) => object;
  class SlackCapture extends Capture {
    *render(ctx: Context): Generator<unknown, void, unknown> {
      const self = this as unknown as { templates: never; variable: string; liquid: Liquid };
      const html = (yield self.liquid.renderer.renderTemplates(self.templates, ctx)) as string;
      (ctx.bottom() as Record<string, unknown>)[self.variable] = new SlackMrkdwn(html);
    }
  }
  engine.registerTag('capture', SlackCapture as unknown as TagClass);
}

/**
 * Slack mrkdwn as a template dialect: every value a template prints is escaped once (data can
 * never make a mention, a link or `<!channel>`); the author's own markup is kept.
 */
export const slackMrkdwn: TemplateDialect = { outputEscape: slackOutputEscape, configure: escapeOnceForSlack };
