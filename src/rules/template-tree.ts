import type { CompiledTemplate, Scope } from './liquid.js';

/** A YAML value whose strings are templates (Slack `blocks`, HTTP `body`), rendered into plain JSON. */
export type TemplateTree =
  | { kind: 'template'; template: CompiledTemplate }
  | { kind: 'list'; items: TemplateTree[] }
  | { kind: 'map'; entries: [string, TemplateTree][] }
  | { kind: 'value'; value: unknown };

/** The tree with each template rendered; other values as they were written. Throws as a template does. */
export function renderTree(tree: TemplateTree, scope: Scope): unknown {
  switch (tree.kind) {
    case 'template':
      return tree.template.render(scope);
    case 'list':
      return tree.items.map((item) => renderTree(item, scope));
    case 'map':
      return Object.fromEntries(tree.entries.map(([k, v]) => [k, renderTree(v, scope)]));
    case 'value':
      return tree.value;
  }
}
