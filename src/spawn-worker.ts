import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';

/**
 * Starts a worker thread running the module `moduleUrl` (a `.js` URL beside the caller in the
 * build), with `workerData` and what it transfers (message ports), and V8's `resourceLimits`
 * for its heap if given (default: Node's).
 *
 * From the build (`dist/…/*.js`) the worker is simply that module. From the TypeScript sources
 * (vitest runs `src/**.ts` itself, but does not transform what a `Worker` loads, and Node 20
 * cannot run .ts) the worker is started through a small bootstrap that registers module hooks
 * for that thread only: `./x.js` imports resolve to `./x.ts` when only the source exists, and
 * .ts files are transpiled with the project's own `typescript` (devDependency, so nothing new
 * is installed). Transpiled files are cached by content hash in the OS temp folder, so only
 * the first worker after a source change pays for loading the compiler. The build never takes
 * this path.
 */
export function spawnWorker(moduleUrl: URL, workerData: unknown, transferList: TransferListItem[] = [], resourceLimits?: ResourceLimits): Worker {
  const href = moduleUrl.href;
  const source = href.replace(/\.js$/, '.ts');
  if (!import.meta.url.endsWith('.ts')) return new Worker(moduleUrl, { workerData, transferList, ...(resourceLimits && { resourceLimits }) });
  const bootstrap = `
    import { register } from 'node:module';
    register(${JSON.stringify(dataUrl(TS_HOOKS))}, { data: { base: ${JSON.stringify(import.meta.url)} } });
    await import(${JSON.stringify(source)});
  `;
  return new Worker(new URL(dataUrl(bootstrap)), { workerData, transferList, ...(resourceLimits && { resourceLimits }) });
}

const dataUrl = (source: string) => `data:text/javascript,${encodeURIComponent(source)}`;

/** Module hooks for a worker thread when it runs from sources (tests only). Plain JS. */
const TS_HOOKS = `
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let base;
let ts;
const cacheDir = join(tmpdir(), 'husky-relay-writer-ts');

export function initialize(data) {
  base = data.base;
}

export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts') && (specifier.startsWith('./') || specifier.startsWith('../'))) {
    const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    if (existsSync(ts)) return { url: ts.href, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const source = readFileSync(fileURLToPath(url), 'utf8');
  const cached = join(cacheDir, createHash('sha256').update(url).update('\\0').update(source).digest('hex') + '.js');
  let output;
  try {
    output = readFileSync(cached, 'utf8');
  } catch {
    ts ??= createRequire(base)('typescript');
    output = ts.transpileModule(source, {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, sourceMap: false },
    }).outputText;
    mkdirSync(cacheDir, { recursive: true });
    const temp = cached + '.' + process.pid + '.' + Math.random().toString(36).slice(2);
    writeFileSync(temp, output);
    renameSync(temp, cached);
  }
  return { format: 'module', source: output, shortCircuit: true };
}
`;
