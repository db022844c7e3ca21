import type { CompiledTemplate } from '../../rules/liquid.js';
import type { SinkKind } from '../kind.js';
import { checkBearerCredential } from '../request-shape.js';
import { hubspotDefaults } from './defaults.js';
import { hubspotActionSchema, hubspotConfigSchema, hubspotRequestSchema, type HubspotActionInput, type HubspotRequest, type HubspotSinkConfig } from './schema.js';
import { createHubspotSink, hubspotSecrets } from './sender.js';

/**
 * The HubSpot kind (README "Sinks"): a call or note on the contact found by id, email or
 * phone; with `upsert_key`, later events update the object the first one created.
 */

/** A HubSpot action with its templates parsed. */
export interface HubspotCompiled {
  create: HubspotRequest['create'];
  contact: { id?: CompiledTemplate; email?: CompiledTemplate; phone?: CompiledTemplate };
  if_no_contact: HubspotRequest['if_no_contact'];
  properties: Record<string, CompiledTemplate>;
  upsert_key?: CompiledTemplate;
}

const CONTACT_FIELDS = ['id', 'email', 'phone'] as const;

/** Where a HubSpot account opens in a browser, unless the sink's `app_url` says otherwise (EU accounts). */
const DEFAULT_APP_URL = 'https://app.hubspot.com';

export const hubspotKind: SinkKind<HubspotSinkConfig, HubspotActionInput, HubspotCompiled, HubspotRequest> = {
  type: 'hubspot',
  configSchema: hubspotConfigSchema,

  // HubSpot's record URL: /contacts/{account}/record/0-1/{contact} (0-1: the contact object
  // type); the call or note shows on that contact's timeline
  resultLink(config) {
    if (config.portal_id === undefined) return null;
    const app = (config.app_url ?? DEFAULT_APP_URL).replace(/\/+$/, '');
    return { label: 'HubSpot contact', href: `${app}/contacts/${config.portal_id}/record/0-1/{contact_id}` };
  },
  actionSchema: hubspotActionSchema,
  requestSchema: hubspotRequestSchema,

  // the access_token goes in the Authorization header
  checkConfig: checkBearerCredential('access_token'),

  check(action, report) {
    if (Object.keys(action.contact).length === 0) report(['contact'], 'contact needs at least one of "id", "email", "phone"');
  },

  compile(a, t) {
    const contact: HubspotCompiled['contact'] = {};
    for (const key of CONTACT_FIELDS) {
      const source = a.contact[key];
      if (source !== undefined) contact[key] = t.template(source, ['contact', key]);
    }
    const properties: Record<string, CompiledTemplate> = {};
    for (const [k, v] of Object.entries(a.properties ?? {})) properties[k] = t.template(String(v), ['properties', k]);
    return {
      create: a.create,
      contact,
      if_no_contact: a.if_no_contact ?? 'fail',
      properties,
      ...(a.upsert_key !== undefined && { upsert_key: t.template(a.upsert_key, ['upsert_key']) }),
    };
  },

  render(action, scope, event) {
    const contact: HubspotRequest['contact'] = {};
    for (const key of CONTACT_FIELDS) {
      const value = action.contact[key]?.render(scope).trim();
      if (value) contact[key] = value; // an empty field must not search HubSpot for ""
    }
    const overrides: Record<string, string> = {};
    for (const [k, t] of Object.entries(action.properties)) overrides[k] = t.render(scope);
    const properties = { ...hubspotDefaults(action.create, event, 'hs_timestamp' in overrides), ...overrides };
    const upsert_key = action.upsert_key?.render(scope) || undefined;
    const request: HubspotRequest = {
      create: action.create,
      contact,
      if_no_contact: action.if_no_contact,
      properties,
      ...(upsert_key !== undefined && { upsert_key }),
    };
    return { request, order_key: upsert_key ?? null };
  },

  create: (name, config, env, opts) => createHubspotSink(name, config, { hubspotBaseUrl: env.hubspotBaseUrl, ...(opts.now && { now: opts.now }) }),
  secrets: hubspotSecrets,
  // the call or note created: archived
  erasure: (result) =>
    (result['object_type'] === 'call' || result['object_type'] === 'note') && typeof result['object_id'] === 'string'
      ? { erase: { object_type: result['object_type'], object_id: result['object_id'] } }
      : null,
};
