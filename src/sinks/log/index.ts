import type { CompiledTemplate } from '../../rules/liquid.js';
import { renderTree, type TemplateTree } from '../../rules/template-tree.js';
import type { SinkKind } from '../kind.js';
import { logActionSchema, logConfigSchema, logRequestSchema, type LogActionInput, type LogRequest, type LogSinkConfig } from './schema.js';
import { createLogSink } from './sender.js';

/** The log kind (README "Sinks"): prints each rendered action as a JSON line; sends nothing. */

/** A log action with its templates parsed. */
export interface LogCompiled {
  text?: CompiledTemplate;
  fields?: TemplateTree;
}

export const logKind: SinkKind<LogSinkConfig, LogActionInput, LogCompiled, LogRequest> = {
  type: 'log',
  configSchema: logConfigSchema,
  actionSchema: logActionSchema,
  requestSchema: logRequestSchema,
  checkConfig() {},
  check() {},

  compile(a, t) {
    return {
      ...(a.text !== undefined && { text: t.template(a.text, ['text']) }),
      ...(a.fields !== undefined && { fields: t.tree(a.fields, ['fields']) }),
    };
  },

  render(action, scope) {
    const request: LogRequest = {
      ...(action.text && { text: action.text.render(scope) }),
      ...(action.fields && { fields: renderTree(action.fields, scope) }),
    };
    return { request, order_key: null };
  },

  create: (name, config, _env, opts) => createLogSink(name, config, opts.write ?? ((line) => void process.stdout.write(`${line}\n`))),
  // a log sink's declaration holds no credential
  secrets: () => [],
};
