import type { CompiledTemplate } from '../../rules/liquid.js';
import { renderTree, type TemplateTree } from '../../rules/template-tree.js';
import type { SinkKind } from '../kind.js';
import { headerProblem, urlProblem, writtenHeaderProblem } from '../request-shape.js';
import { secretProblem } from './check-secret.js';
import { httpActionSchema, httpConfigSchema, httpRequestSchema, type HttpActionInput, type HttpRequest, type HttpSinkConfig } from './schema.js';
import { createHttpSink, httpSecrets } from './sender.js';

/**
 * The HTTP kind (README "Sinks"): one JSON request per attempt, signed by Standard Webhooks;
 * receivers dedupe by `webhook-id`.
 */

/** An HTTP action with its templates parsed. */
export interface HttpCompiled {
  method: NonNullable<HttpActionInput['method']>;
  headers: Record<string, CompiledTemplate>;
  /** Absent: the original envelope is sent (for an operator event, its `{event_type, created_at, data}`). */
  body?: TemplateTree;
}

export const httpKind: SinkKind<HttpSinkConfig, HttpActionInput, HttpCompiled, HttpRequest> = {
  type: 'http',
  configSchema: httpConfigSchema,
  actionSchema: httpActionSchema,
  requestSchema: httpRequestSchema,

  // A secret left empty by an unset ${VAR} disables the sink instead; a set one must be able to sign.
  // What fetch would refuse to send (a URL with credentials, a header with a line break) is
  // refused here, where the file says it, not found at the first delivery.
  checkConfig(config, report) {
    const problem = config.secret ? secretProblem(config.secret) : null;
    if (problem) report(['secret'], problem);
    const url = config.url ? urlProblem(config.url, 'url') : null;
    if (url) report(['url'], url);
    for (const [name, value] of Object.entries(config.headers ?? {})) {
      const header = headerProblem(name, value, 'headers');
      if (header) report(['headers', name], header);
    }
  },

  // the rule's own headers: names, and values as far as they are written out (templates are checked when sent)
  check(action, report) {
    for (const [name, value] of Object.entries(action.headers ?? {})) {
      const header = writtenHeaderProblem(name, value, 'headers');
      if (header) report(['headers', name], header);
    }
  },

  compile(a, t) {
    const headers: Record<string, CompiledTemplate> = {};
    for (const [k, v] of Object.entries(a.headers ?? {})) headers[k] = t.template(v, ['headers', k]);
    return { method: a.method ?? 'POST', headers, ...(a.body !== undefined && { body: t.tree(a.body, ['body']) }) };
  },

  render(action, scope, event, received) {
    const headers: Record<string, string> = {};
    for (const [k, t] of Object.entries(action.headers)) headers[k] = t.render(scope);
    // no `body`: the original envelope (SPEC §6), byte for byte when there are bytes
    const body = action.body ? { body: renderTree(action.body, scope) } : received !== undefined ? { body_text: received } : { body: event };
    return { request: { method: action.method, headers, ...body }, order_key: null };
  },

  create: (name, config, _env, opts) => createHttpSink(name, config, opts.now ? { now: opts.now } : {}),
  // a signed notice: the receiver deletes what it keeps of the call
  erasure: (_result, callId) => ({ method: 'POST', headers: {}, body: { type: 'call.erased', call_id: callId } }),
  secrets: httpSecrets,
};
