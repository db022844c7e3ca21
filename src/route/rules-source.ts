import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { loadRules } from '../rules/load-rules.js';
import { formatProblem } from '../rules/problem.js';
import type { LoadedRules } from '../rules/types.js';

/**
 * The rules in force, and their reloads: on SIGHUP (the caller wires it) and when the file
 * changes. A valid new file takes effect for events after it; an invalid one is reported
 * with its locations and the old rules stay in force.
 */
export class RulesSource {
  current: LoadedRules | null = null;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly listeners: ((rules: LoadedRules) => void)[] = [];

  constructor(
    readonly path: string,
    private readonly env: Record<string, string | undefined>,
    private readonly logger: Logger,
  ) {}

  onChange(listener: (rules: LoadedRules) => void): void {
    this.listeners.push(listener);
  }

  /** Loads the file; true if it took effect (or was unchanged). */
  async reload(reason: string): Promise<boolean> {
    const result = await loadRules(this.path, this.env);
    if (!result.ok) {
      const errors = result.problems.filter((p) => p.severity === 'error').map(formatProblem);
      this.logger.error(
        { path: this.path, problems: errors },
        this.current ? `rules file invalid (${reason}): the previous rules stay in force` : `rules file invalid: no rules in force`,
      );
      for (const line of errors) this.logger.error(line);
      return false;
    }
    for (const warning of result.warnings) this.logger.warn(formatProblem(warning));
    // the same bytes with another environment (a token now set) are new rules too
    if (this.current && sameRules(this.current, result.rules)) return true;
    this.current = result.rules;
    const disabled = Object.entries(result.rules.sinks).filter(([, s]) => !s.enabled).map(([name]) => name);
    this.logger.info(
      { path: this.path, rules: result.rules.rules.length, hash: result.rules.hash.slice(0, 12), disabled_sinks: disabled },
      `rules loaded (${reason})`,
    );
    for (const listener of this.listeners) listener(result.rules);
    return true;
  }

  /** Watches the folder (editors replace files rather than write them in place). */
  watch(): void {
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), (_event, file) => {
        if (file !== null && file !== name) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload('file changed'), 100);
      });
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'cannot watch the rules file; reload with SIGHUP');
    }
  }

  close(): void {
    clearTimeout(this.debounce);
    this.watcher?.close();
  }
}

/** Same file and the same sinks after `${VAR}` substitution. */
function sameRules(a: LoadedRules, b: LoadedRules): boolean {
  return a.hash === b.hash && JSON.stringify(a.sinks) === JSON.stringify(b.sinks);
}
