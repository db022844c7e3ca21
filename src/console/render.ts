import { fileURLToPath } from 'node:url';
import { filters, Liquid } from 'liquidjs';
import type { Context } from 'koa';
import { count } from '../count.js';
import { printableKeepingLayout } from '../commands/table.js';
import type { Assets } from './assets.js';
import type { Session, Sessions } from './session.js';

/** Liquid's own `escape` filter (`& < > " '`), called with the filter's `this` as Liquid calls it. */
const htmlEscape = filters['escape'] as (this: unknown, text: unknown) => string;

/**
 * The `attr` filter's handler: `value` as text (`undefined`/`null` as empty), HTML-escaped
 * (`& < > " '`) and nothing else, for an attribute or a textarea whose value goes back to the
 * server as it is. Registered `raw`, so the output escape (which writes controls as `\u…`) is
 * not applied after it.
 */
export function attrEscape(this: unknown, value: unknown): string {
  return htmlEscape.call(this, value ?? '');
}

/**
 * The console's pages, rendered on the server from Liquid templates (`templates/`, copied
 * beside the built module by `npm run build`). Every `{{ value }}` is HTML-escaped
 * (`outputEscape`: Liquid's `escape`), so event data (a summary, a transcript, an agent id) always
 * shows as text; no template uses `raw`. Then the controls a browser acts on without showing
 * them (the bidirectional overrides that reorder a line, "Trojan Source"; C0 and C1 controls)
 * are shown as escapes (`\u202e`), as the CLI shows them (`printable`): a caller's name cannot
 * read backwards, nor make an id look like another. Line breaks and tabs are kept.
 *
 * A value the browser hands back rather than shows (an `<option value=>`, an `<input value=>`,
 * a hidden input, a textarea's content, a `data-*` a script reads, an `href`) goes through the
 * `attr` filter instead (`{{ name | attr }}`): HTML-escaped only, so it carries the exact value
 * (controls included) and a form submitted as rendered finds what it names.
 */
export class Renderer {
  private readonly liquid: Liquid;

  constructor(
    private readonly assets: Assets,
    private readonly sessions: Sessions,
  ) {
    this.liquid = new Liquid({
      root: fileURLToPath(new URL('./templates/', import.meta.url)),
      extname: '.liquid',
      outputEscape: function (this: unknown, value: unknown): string {
        return printableKeepingLayout(htmlEscape.call(this, value));
      },
      strictFilters: true,
      cache: true,
      jsTruthy: true,
    });
    this.liquid.registerFilter('json', (value: unknown) => JSON.stringify(value, null, 2));
    this.liquid.registerFilter('count', (value: unknown, one: string, other: string) => count(Number(value), one, other));
    this.liquid.registerFilter('attr', { handler: attrEscape, raw: true });
    this.liquid.registerFilter('urlencode', (value: unknown) => encodeURIComponent(String(value ?? '')));
  }

  /**
   * Renders `template` as the answer, with what every page needs: the asset URLs, the
   * session's CSRF token, the page's name for the navigation, and the flash message (shown once).
   */
  async page(ctx: Context, template: string, session: Session | undefined, data: Record<string, unknown>): Promise<void> {
    const flash = session?.flash;
    if (session) session.flash = undefined;
    const assets = Object.fromEntries(Object.entries(this.assets).map(([key, a]) => [key, `/ui/assets/${a.name}`]));
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = await this.liquid.renderFile(template, {
      ...data,
      assets,
      csrf: session ? this.sessions.csrfToken(session) : '',
      signed_in: session?.signedIn === true,
      flash,
      here: template,
      url: ctx.url,
    });
  }
}
