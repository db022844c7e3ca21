import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * deploy/Caddyfile and deploy/nginx.conf keep the web console off the public address unless the
 * operator opens it on purpose (README "Reaching the console on a VM", issue 15): as shipped,
 * only `/webhooks/husky` and `/healthz` reach the relay and everything else, `/ui/` included,
 * is answered 404; the commented console block asks for the proxy's own password before it
 * passes anything to the relay. Neither proxy is installed here: this reads the files' text.
 */

const read = (name: string) => readFileSync(new URL(`../deploy/${name}`, import.meta.url), 'utf8');

/** The lines a proxy reads: without comments and blank lines. */
const active = (text: string) =>
  text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trimEnd())
    .filter((line) => line.trim() !== '')
    .join('\n');

/** Each innermost `{ … }` block opened by `directive`: [what follows the directive, the block's body]. */
function blocks(text: string, directive: string): [string, string][] {
  return [...text.matchAll(new RegExp(`^\\s*${directive}\\b([^{\\n]*)\\{([^{}]*)\\}`, 'gm'))].map((m) => [m[1]!.trim(), m[2]!]);
}

describe('deploy/Caddyfile keeps /ui/ private', () => {
  const text = read('Caddyfile');
  const shipped = active(text);

  it('as shipped, passes only /webhooks/husky and /healthz to the relay and answers everything else 404', () => {
    expect(shipped).not.toMatch(/\/ui/);
    expect(shipped).toMatch(/^\s*@public path \/webhooks\/husky \/healthz$/m);
    const handles = blocks(shipped, 'handle');
    const proxied = handles.filter(([, body]) => /reverse_proxy/.test(body));
    expect(proxied.map(([matcher]) => matcher)).toEqual(['@public']);
    // no reverse_proxy outside the handle of @public (one at the site's top level would pass every path)
    expect(shipped.match(/reverse_proxy/g)).toHaveLength(1);
    expect(handles.filter(([matcher]) => matcher === '').map(([, body]) => body.trim())).toEqual(['respond "not found" 404']);
  });

  it("opened on purpose (the commented block), asks for Caddy's own password before passing /ui/ on", () => {
    const opened = active(text.replace(/^(\s*)# ?(\t| {4}|@console|handle @console|\})/gm, '$1$2'));
    const block = opened.slice(opened.indexOf('handle @console'));
    expect(opened).toMatch(/^\s*@console path \/ui \/ui\/\*$/m);
    expect(block.indexOf('basicauth')).toBeGreaterThan(0);
    expect(block.indexOf('basicauth')).toBeLessThan(block.indexOf('reverse_proxy'));
  });
});

describe('deploy/nginx.conf keeps /ui/ private', () => {
  const text = read('nginx.conf');
  const shipped = active(text);

  it('as shipped, passes only /webhooks/husky and /healthz to the relay and answers everything else 404 on HTTPS', () => {
    expect(shipped).not.toMatch(/\/ui/);
    const locations = blocks(shipped, 'location');
    expect(locations.filter(([, body]) => /proxy_pass/.test(body)).map(([path]) => path)).toEqual(['= /webhooks/husky', '= /healthz']);
    // `location /` of the HTTPS server answers 404 (the one of port 80 redirects to HTTPS)
    expect(locations.filter(([path]) => path === '/').map(([, body]) => body.trim())).toEqual(['return 301 https://$host$request_uri;', 'return 404;']);
  });

  it("opened on purpose (the commented location /ui/), asks for nginx's own password before passing /ui/ on", () => {
    const start = text.indexOf('# location /ui/ {');
    expect(start).toBeGreaterThan(0);
    const block = text.slice(start, text.indexOf('# }', start));
    expect(block).toMatch(/auth_basic\s+"[^"]+";/);
    expect(block).toMatch(/auth_basic_user_file\s+\S+;/);
    expect(block.indexOf('auth_basic')).toBeLessThan(block.indexOf('proxy_pass'));
  });
});
