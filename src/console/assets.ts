import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The console's scripts and styles (README "Console"), read once at start from node_modules
 * (htmx, its SSE extension, uPlot) and from `static/` beside this module (our own few lines),
 * and served by the relay itself: no CDN, nothing fetched from the internet. Each is served
 * under a name with its content hash (`/ui/assets/htmx.3f2a….js`), so it can be cached for a
 * year and a new version is a new URL.
 */

/** One asset as served. */
export interface Asset {
  /** The hashed file name, e.g. `htmx.3f2a9c1d.js`. */
  name: string;
  type: 'application/javascript' | 'text/css';
  body: Buffer;
}

/** The assets by short name (`htmx`, `sse`, `uplot`, `uplotCss`, `console`, `consoleCss`). */
export type Assets = Record<AssetKey, Asset>;
export type AssetKey = 'htmx' | 'sse' | 'uplot' | 'uplotCss' | 'console' | 'consoleCss';

const require = createRequire(import.meta.url);
const own = (file: string) => fileURLToPath(new URL(`./static/${file}`, import.meta.url));

const SOURCES: Record<AssetKey, () => string> = {
  htmx: () => require.resolve('htmx.org/dist/htmx.min.js'),
  sse: () => require.resolve('htmx-ext-sse/sse.js'),
  uplot: () => require.resolve('uplot/dist/uPlot.iife.min.js'),
  uplotCss: () => require.resolve('uplot/dist/uPlot.min.css'),
  console: () => own('console.js'),
  consoleCss: () => own('console.css'),
};

/** Reads every asset once. Throws (at start) when one is missing: a console without its scripts is broken. */
export function loadAssets(): Assets {
  const assets = {} as Assets;
  for (const [key, source] of Object.entries(SOURCES) as [AssetKey, () => string][]) {
    const body = readFileSync(source());
    const css = key.endsWith('Css');
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const base = key.replace(/Css$/, '').toLowerCase();
    assets[key] = { name: `${base}.${hash}.${css ? 'css' : 'js'}`, type: css ? 'text/css' : 'application/javascript', body };
  }
  return assets;
}

/** The asset served under `name`, if any. */
export function assetNamed(assets: Assets, name: string): Asset | undefined {
  return Object.values(assets).find((a) => a.name === name);
}
