import type { Document, LineCounter } from 'yaml';
import type { YamlPath } from './interpolate.js';
import type { Problem } from './problem.js';
import { locate } from './yaml-locate.js';

/** Collects problems located at YAML paths; one per (position, message). */
export class Reporter {
  readonly problems: Problem[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  error(path: YamlPath, message: string, key?: string): void {
    this.add(path, message, 'error', key);
  }

  warn(path: YamlPath, message: string, key?: string): void {
    this.add(path, message, 'warning', key);
  }

  /** The 1-based line of a path, for messages such as "first defined at line 12". */
  lineOf(path: YamlPath): number {
    return locate(this.doc, this.lines, path).line;
  }

  hasErrors(): boolean {
    return this.problems.some((p) => p.severity === 'error');
  }

  private add(path: YamlPath, message: string, severity: Problem['severity'], key?: string): void {
    const { line, col } = locate(this.doc, this.lines, path, key);
    const id = `${line}:${col}:${message}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.problems.push({ file: this.file, line, col, message, severity });
  }
}
