import type { Envelope } from '../receive/envelope.js';
import type { Scope } from '../rules/liquid.js';
import type { CompiledAction, TemplateTree } from '../rules/types.js';
import type { HttpRequest, HubspotRequest, LogRequest, SlackRequest } from '../sinks/types.js';
import { hubspotDefaults } from './hubspot-defaults.js';
import { checkSlackLimits } from './slack-limits.js';

export interface RenderedAction {
  /** Exactly what the sink will send; secrets (tokens, sink headers) are added by the sink. */
  request: SlackRequest | HubspotRequest | HttpRequest | LogRequest;
  /** The rendered thread_key or upsert_key; null if none or empty. */
  order_key: string | null;
  /** What was changed to fit the sink (Slack text cut to its limits), for `rules test`. */
  warnings: string[];
}

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

/**
 * Renders one action for one event, exactly as the sink will send it (Slack text is cut to
 * Slack's limits here, after escaping). Pure; throws when a template fails or exceeds a bound.
 */
export function renderAction(action: CompiledAction, scope: Scope, envelope: Envelope): RenderedAction {
  switch (action.type) {
    case 'slack': {
      const thread_key = action.thread_key?.render(scope) || undefined;
      const rendered: SlackRequest = {
        channel: action.channel.render(scope),
        ...(action.text && { text: action.text.render(scope) }),
        ...(action.blocks && { blocks: renderTree(action.blocks, scope) as unknown[] }),
        ...(thread_key !== undefined && { thread_key }),
        ...(action.replace !== undefined && { replace: action.replace }),
        ...(action.broadcast !== undefined && { broadcast: action.broadcast }),
      };
      const fitted = checkSlackLimits(rendered as unknown as Record<string, unknown>, true);
      const warnings = fitted.problems.map((p) => `${p.path}: ${p.message}: cut to fit`);
      return { request: fitted.request as unknown as SlackRequest, order_key: thread_key ?? null, warnings };
    }
    case 'hubspot': {
      const contact: HubspotRequest['contact'] = {};
      for (const key of ['id', 'email', 'phone'] as const) {
        const value = action.contact[key]?.render(scope).trim();
        if (value) contact[key] = value; // an empty field must not search HubSpot for ""
      }
      const overrides: Record<string, string> = {};
      for (const [k, t] of Object.entries(action.properties)) overrides[k] = t.render(scope);
      const properties = { ...hubspotDefaults(action.create, envelope, 'hs_timestamp' in overrides), ...overrides };
      const upsert_key = action.upsert_key?.render(scope) || undefined;
      const request: HubspotRequest = {
        create: action.create,
        contact,
        if_no_contact: action.if_no_contact,
        properties,
        ...(upsert_key !== undefined && { upsert_key }),
      };
      return { request, order_key: upsert_key ?? null, warnings: [] };
    }
    case 'http': {
      const headers: Record<string, string> = {};
      for (const [k, t] of Object.entries(action.headers)) headers[k] = t.render(scope);
      const body = action.body ? renderTree(action.body, scope) : envelope;
      return { request: { method: action.method, headers, body } satisfies HttpRequest, order_key: null, warnings: [] };
    }
    case 'log': {
      const request: LogRequest = {
        ...(action.text && { text: action.text.render(scope) }),
        ...(action.fields && { fields: renderTree(action.fields, scope) }),
      };
      return { request, order_key: null, warnings: [] };
    }
  }
}
