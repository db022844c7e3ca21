import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { loadRules } from './load-rules.js';
import { formatProblem } from './problem.js';
import type { LoadedRules } from './types.js';

export interface RulesSourceOptions {
  /**
   * The file to use as soon as it exists, when `path` only stands in for it (no rules file
   * was given, so `./rules.example.yaml` runs until `./rules.yaml` appears).
   */
  preferred?: string;
}

/**
 * The rules in force, and their reloads: on SIGHUP (the caller wires it) and when the file
 * changes. A valid new file takes effect for events after it; an invalid one is reported
 * with its locations and the old rules stay in force. A reload never throws.
 */
export class RulesSource {
  current: LoadedRules | null = null;
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | undefined;
  private readonly listeners: ((rules: LoadedRules) => void)[] = [];

  constructor(
    /** The file in force (or being tried); it becomes `preferred` once that one loads. */
    public path: string,
    private env: Readonly<Record<string, string | undefined>>,
    private readonly logger: Logger,
    private readonly options: RulesSourceOptions = {},
  ) {}

  onChange(listener: (rules: LoadedRules) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Loads the file; true if it took effect (or was unchanged). `env`, when given, is the
   * environment `${VAR}` is read from from now on (a SIGHUP re-reads `.env`). Never throws.
   */
  async reload(reason: string, env?: Readonly<Record<string, string | undefined>>): Promise<boolean> {
    if (env) this.env = env;
    try {
      return await this.load(reason);
    } catch (error) {
      this.logger.error({ path: this.path, err: (error as Error).message }, `rules not reloaded (${reason}): the previous rules stay in force`);
      return false;
    }
  }

  private async load(reason: string): Promise<boolean> {
    const { preferred } = this.options;
    const path = preferred !== undefined && this.path !== preferred && existsSync(preferred) ? preferred : this.path;
    const result = await loadRules(path, this.env);
    if (!result.ok) {
      const errors = result.problems.filter((p) => p.severity === 'error').map(formatProblem);
      this.logger.error(
        { path, problems: errors },
        this.current ? `rules file invalid (${reason}): the previous rules stay in force` : `rules file invalid: no rules in force`,
      );
      for (const line of errors) this.logger.error(line);
      return false;
    }
    for (const warning of result.warnings) this.logger.warn(formatProblem(warning));
    this.path = path;
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

  /**
   * Watches the folder (editors replace files rather than write them in place), and the
   * preferred file's folder, so a `rules.yaml` that appears takes over from the example.
   */
  watch(): void {
    const files = [this.path, this.options.preferred].filter((f): f is string => f !== undefined);
    const folders = new Map<string, Set<string>>();
    for (const f of files) folders.set(dirname(f), new Set([...(folders.get(dirname(f)) ?? []), basename(f)]));
    for (const [folder, names] of folders) {
      try {
        this.watchers.push(
          watch(folder, (_event, file) => {
            if (file !== null && !names.has(file)) return;
            clearTimeout(this.debounce);
            this.debounce = setTimeout(() => void this.reload('file changed'), 100);
          }),
        );
      } catch (error) {
        this.logger.warn({ err: (error as Error).message, folder }, 'cannot watch the rules file; reload with SIGHUP');
      }
    }
  }

  close(): void {
    clearTimeout(this.debounce);
    for (const w of this.watchers) w.close();
  }
}

/** Same file (path and bytes) and the same sinks after `${VAR}` substitution. */
function sameRules(a: LoadedRules, b: LoadedRules): boolean {
  return a.path === b.path && a.hash === b.hash && JSON.stringify(a.sinks) === JSON.stringify(b.sinks);
}
