import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SINK_KINDS } from '../src/sinks/registry.js';

/**
 * The seams of README "How it is built", held by a test: the relay reaches its storage only
 * through the log seam (`log/`) and the projections (`project/`), so a second engine can take
 * its place; it reads its environment in one place (`config/`); and a sink kind is known only
 * to its own folder (`sinks/<kind>/`), everything else going through the registry.
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const DRIVERS = ['better-sqlite3', 'pg'];
const TEST = fileURLToPath(new URL('./', import.meta.url));
/** "No file over ~250 lines" (issue 13): a little slack for a docstring, none for a second idea. */
const MAX_LINES = 265;

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The code without its comments, so that prose naming a thing does not count as using it. */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

/** Quoted names that are not the sink kind they spell, and why. */
const NOT_A_SINK_TYPE: Record<string, string> = {
  'commands/log.ts': 'the `log` CLI command',
};

const files = sources().map((path) => ({ path, name: relative(SRC, path), text: code(path) }));

describe('architecture', () => {
  it('finds the sources it checks', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => f.name === 'log/seam.ts')).toBe(true);
  });

  it('nothing outside log/ and project/ imports a database driver', () => {
    const offenders = files
      .filter((f) => !f.name.startsWith('log/') && !f.name.startsWith('project/'))
      .filter((f) => DRIVERS.some((d) => new RegExp(`from ['"]${d}['"]|import\\(['"]${d}['"]\\)`).test(f.text)))
      .map((f) => f.name);
    expect(offenders).toEqual([]);
  });

  it('process.env is read only by config/', () => {
    const offenders = files
      .filter((f) => !f.name.startsWith('config/'))
      .filter((f) => /\bprocess\.env\b/.test(f.text))
      .map((f) => f.name);
    expect(offenders).toEqual([]);
  });

  it('a sink type is spelled only in its own folder: rules/, route/ and delivery go through the registry', () => {
    const offenders = Object.keys(SINK_KINDS).flatMap((type) =>
      files
        .filter((f) => !f.name.startsWith(`sinks/${type}/`) && !(f.name in NOT_A_SINK_TYPE))
        .filter((f) => new RegExp(`(['"\`])${type}\\1`).test(f.text))
        .map((f) => `${f.name} names '${type}'`),
    );
    expect(offenders).toEqual([]);
  });

  it('no source file is much over 250 lines: one idea a file', () => {
    const long = sources()
      .map((path) => ({ name: relative(SRC, path), lines: readFileSync(path, 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.name}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });

  it('every test file says its level: .unit (no I/O), .int (files, sockets, threads) or .e2e (the built CLI)', () => {
    const tests = readdirSync(TEST).filter((name) => name.endsWith('.ts') && name.includes('.test.'));
    expect(tests.length).toBeGreaterThan(50);
    expect(tests.filter((name) => !/\.(unit|int|e2e)\.test\.ts$/.test(name))).toEqual([]);
  });
});
