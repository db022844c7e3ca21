import { z } from 'zod';
import { template } from '../../rules/schema-parts.js';
import { sinkDeclaration, type SinkConfigOf } from '../common-options.js';

/** The shapes of the HubSpot kind: its declaration, its action, and the request it sends. */

export const hubspotConfigSchema = sinkDeclaration({
  type: z.literal('hubspot'),
  access_token: z.string().describe('Private app token, e.g. ${HUBSPOT_ACCESS_TOKEN}'),
  portal_id: z
    .union([z.string().regex(/^\d+$/, 'a HubSpot account ID is digits'), z.number().int().positive()])
    .optional()
    .describe("Your HubSpot account ID (the Hub ID in HubSpot's account menu): the console then links each delivery to the contact it was logged on"),
  app_url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Where your HubSpot account opens in a browser, for those links. (Default: https://app.hubspot.com; EU accounts: https://app-eu1.hubspot.com)'),
});

export type HubspotSinkConfig = SinkConfigOf<typeof hubspotConfigSchema>;

const OBJECT_TYPES = ['call', 'note'] as const;
const IF_NO_CONTACT = ['fail', 'skip', 'create'] as const;

export const hubspotActionSchema = z
  .strictObject({
    sink: z.string().describe('Name of a hubspot sink'),
    create: z.enum(OBJECT_TYPES).describe('What to create on the contact'),
    contact: z
      .strictObject({ id: template.optional(), email: template.optional(), phone: template.optional() })
      .describe('Found by id, else email, else phone'),
    if_no_contact: z.enum(IF_NO_CONTACT).optional().describe('When no contact matches. (Default: fail)'),
    properties: z
      .record(z.string(), z.union([template, z.number(), z.boolean()]))
      .optional()
      .describe('Override the default properties'),
    upsert_key: template.optional().describe('Later events with the same key update the object created first'),
  })
  .describe('Create a HubSpot call or note');

export type HubspotActionInput = z.output<typeof hubspotActionSchema>;

/**
 * A rendered HubSpot action: `delivery.planned.request`, and what the sender reads back.
 * `properties` are final: the defaults of README "Sinks" merged with the rule's own.
 */
export const hubspotRequestSchema = z.object({
  create: z.enum(OBJECT_TYPES),
  contact: z.object({ id: z.string().optional(), email: z.string().optional(), phone: z.string().optional() }).default({}),
  if_no_contact: z.enum(IF_NO_CONTACT).default('fail'),
  properties: z.record(z.string(), z.string()).default({}),
  upsert_key: z.string().optional(),
});

export type HubspotRequest = z.output<typeof hubspotRequestSchema>;
