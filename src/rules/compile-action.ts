import type { Report, TemplateCompiler } from '../sinks/kind.js';
import { sinkKind, type SinkType } from '../sinks/registry.js';
import type { YamlPath } from './interpolate.js';
import { compileTemplate, type CompiledTemplate, type TemplateDialect } from './liquid.js';
import type { TemplateTree } from './template-tree.js';
import type { CompiledAction } from './types.js';

/**
 * Parses every template of one action (already shape-checked against its kind's action
 * schema) through its kind's `compile`. Bad templates are reported at their own path;
 * compiling goes on so that every problem in the file is found in one run.
 */
export function compileAction(
  type: SinkType,
  action: unknown,
  where: { sink: string; index: number },
  report: Report,
  /** Told of each template that compiled, with its path in the action (for static checks). */
  onTemplate: (path: YamlPath, template: CompiledTemplate) => void = () => {},
): CompiledAction {
  let unbounded = false;
  const templates = templateCompiler(report, (path, template) => {
    if (template.loops) unbounded = true;
    onTemplate(path, template);
  });
  // `unbounded` is read after `compile`: it notes whether any template loops while they compile
  const compiled = sinkKind(type).compile(action, templates);
  return { sink: where.sink, type, index: where.index, unbounded, compiled };
}

/**
 * The `TemplateCompiler` a kind's `compile` is given: a bad template is reported at its path
 * and stands in as one that renders '' (the rules file is refused anyway); `onTemplate` hears
 * of each good one.
 */
export function templateCompiler(report: Report, onTemplate: (path: YamlPath, template: CompiledTemplate) => void = () => {}): TemplateCompiler {
  const template = (source: string, path: YamlPath, dialect?: TemplateDialect): CompiledTemplate => {
    try {
      const compiled = named(compileTemplate(source, dialect), path);
      onTemplate(path, compiled);
      return compiled;
    } catch (error) {
      report(path, `invalid Liquid template: ${error instanceof Error ? error.message : String(error)}`);
      return { source, render: () => '' };
    }
  };
  const tree: TemplateCompiler['tree'] = (value, path, dialectOf = () => undefined) => {
    const walk = (v: unknown, at: YamlPath, parent: unknown): TemplateTree => {
      if (typeof v === 'string') return { kind: 'template', template: template(v, at, dialectOf(at, parent)) };
      if (Array.isArray(v)) return { kind: 'list', items: v.map((item, i) => walk(item, [...at, i], v)) };
      if (v !== null && typeof v === 'object') {
        return { kind: 'map', entries: Object.entries(v).map(([k, item]) => [k, walk(item, [...at, k], v)]) };
      }
      return { kind: 'value', value: v };
    };
    return walk(value, path, undefined);
  };
  return { template, tree };
}

/** `blocks[0].text.text`: where a template is, for render errors and dead reasons. */
export function pathText(path: YamlPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The template, its render errors prefixed with where it is in the action. */
function named(template: CompiledTemplate, path: YamlPath): CompiledTemplate {
  const where = pathText(path);
  return {
    source: template.source,
    ...(template.reads && { reads: template.reads }),
    ...(template.loops && { loops: true }),
    render(scope) {
      try {
        return template.render(scope);
      } catch (error) {
        throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
}
