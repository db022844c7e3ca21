import type { z } from 'zod';
import type { SinkType } from '../sinks/types.js';
import type { YamlPath } from './interpolate.js';
import { compileTemplate, type CompiledTemplate, type TemplateKind } from './liquid.js';
import type { httpActionSchema, hubspotActionSchema, logActionSchema, slackActionSchema } from './schema.js';
import type { CompiledAction, TemplateTree } from './types.js';

export type Report = (path: YamlPath, message: string) => void;

/**
 * Parses every template of one action (already shape-checked against its sink's action
 * schema). Bad templates are reported at their own path; compiling goes on so that every
 * problem in the file is found in one run.
 */
export function compileAction(
  type: SinkType,
  raw: Record<string, unknown>,
  index: number,
  report: Report,
  /** Told of each template that compiled, with its path in the action (for static checks). */
  onTemplate: (path: YamlPath, template: CompiledTemplate) => void = () => {},
): CompiledAction {
  let unbounded = false;
  const tpl = (source: string, path: YamlPath, kind: TemplateKind = 'plain'): CompiledTemplate => {
    try {
      const compiled = named(compileTemplate(source, kind), path);
      if (compiled.loops) unbounded = true;
      onTemplate(path, compiled);
      return compiled;
    } catch (error) {
      report(path, `invalid Liquid template: ${error instanceof Error ? error.message : String(error)}`);
      return { source, render: () => '' };
    }
  };
  const tree = (value: unknown, path: YamlPath, kindOf: (path: YamlPath, parent: unknown) => TemplateKind, parent?: unknown): TemplateTree => {
    if (typeof value === 'string') return { kind: 'template', template: tpl(value, path, kindOf(path, parent)) };
    if (Array.isArray(value)) return { kind: 'list', items: value.map((v, i) => tree(v, [...path, i], kindOf, value)) };
    if (value !== null && typeof value === 'object') {
      return { kind: 'map', entries: Object.entries(value).map(([k, v]) => [k, tree(v, [...path, k], kindOf, value)]) };
    }
    return { kind: 'value', value };
  };
  const plain = () => 'plain' as const;
  // the action's parts; `tpl` notes whether any template loops while they compile
  const parts = ((): CompiledAction => {
    const base = { sink: String(raw.sink), index, unbounded: false };

    switch (type) {
      case 'slack': {
        const a = raw as z.infer<typeof slackActionSchema>;
        return {
          type, ...base,
          channel: tpl(a.channel, ['channel']),
          ...(a.text !== undefined && { text: tpl(a.text, ['text'], 'slack') }),
          ...(a.blocks !== undefined && { blocks: tree(a.blocks, ['blocks'], slackBlockKind) }),
          ...(a.thread_key !== undefined && { thread_key: tpl(a.thread_key, ['thread_key']) }),
          ...(a.replace !== undefined && { replace: a.replace }),
          ...(a.broadcast !== undefined && { broadcast: a.broadcast }),
        };
      }
      case 'hubspot': {
        const a = raw as z.infer<typeof hubspotActionSchema>;
        const contact: Record<string, CompiledTemplate> = {};
        for (const [k, v] of Object.entries(a.contact)) if (v !== undefined) contact[k] = tpl(v, ['contact', k]);
        const properties: Record<string, CompiledTemplate> = {};
        for (const [k, v] of Object.entries(a.properties ?? {})) properties[k] = tpl(String(v), ['properties', k]);
        return {
          type, ...base,
          create: a.create,
          contact,
          if_no_contact: a.if_no_contact ?? 'fail',
          properties,
          ...(a.upsert_key !== undefined && { upsert_key: tpl(a.upsert_key, ['upsert_key']) }),
        };
      }
      case 'http': {
        const a = raw as z.infer<typeof httpActionSchema>;
        const headers: Record<string, CompiledTemplate> = {};
        for (const [k, v] of Object.entries(a.headers ?? {})) headers[k] = tpl(v, ['headers', k]);
        return { type, ...base, method: a.method ?? 'POST', headers, ...(a.body !== undefined && { body: tree(a.body, ['body'], plain) }) };
      }
      case 'log': {
        const a = raw as z.infer<typeof logActionSchema>;
        return {
          type, ...base,
          ...(a.text !== undefined && { text: tpl(a.text, ['text']) }),
          ...(a.fields !== undefined && { fields: tree(a.fields, ['fields'], plain) }),
        };
      }
    }
  })();
  return { ...parts, unbounded };
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

/**
 * Block objects whose `text` Slack shows literally (it parses no mrkdwn there): plain_text
 * objects and the `text` and `link` elements of rich_text. Escaping those would show `&lt;`.
 */
const LITERAL_TEXT_TYPES = new Set(['plain_text', 'text', 'link']);

/**
 * In blocks, the `text` of an object is escaped for mrkdwn unless the object's literal `type`
 * is one Slack shows as is; a templated `type` is escaped (data could choose mrkdwn). URLs,
 * ids and other keys are not escaped.
 */
function slackBlockKind(path: YamlPath, parent: unknown): TemplateKind {
  if (path[path.length - 1] !== 'text') return 'plain';
  const type = parent && typeof parent === 'object' && !Array.isArray(parent) ? (parent as Record<string, unknown>).type : undefined;
  return typeof type === 'string' && LITERAL_TEXT_TYPES.has(type) ? 'plain' : 'slack';
}
