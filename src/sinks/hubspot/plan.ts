import { z } from 'zod';
import type { HubspotRequest } from './schema.js';

/**
 * Pure decisions of the HubSpot sink: how a contact is looked up, what is created or updated,
 * and with which association. The shell in `sender.ts` only executes them.
 */

/** HUBSPOT_DEFINED association type ids from the engagement to the contact. */
export const ASSOCIATION_TYPE_ID = { call: 194, note: 202 } as const;

export type ObjectType = keyof typeof ASSOCIATION_TYPE_ID;

const keyStateSchema = z.object({
  object_type: z.enum(['call', 'note']),
  object_id: z.string().min(1),
  contact_id: z.string().nullable().optional(),
});

export type UpsertTarget = z.infer<typeof keyStateSchema>;

/** The object to update instead of creating: only with an `upsert_key` and a usable keyState. */
export function upsertTarget(request: HubspotRequest, keyState: unknown): UpsertTarget | null {
  if (!request.upsert_key) return null;
  const parsed = keyStateSchema.safeParse(keyState);
  return parsed.success ? parsed.data : null;
}

export interface ContactSearch {
  key: 'email' | 'phone';
  value: string;
  /** One group per property: HubSpot ORs filter groups. */
  filterGroups: { filters: { propertyName: string; operator: 'EQ'; value: string }[] }[];
}

/**
 * The searches to try, in order: email, then phone (matched on `phone` or `mobilephone`).
 * Templates render a missing field as an empty string, so blanks count as absent.
 */
export function contactSearches(contact: HubspotRequest['contact']): ContactSearch[] {
  const searches: ContactSearch[] = [];
  const email = contact.email?.trim();
  const phone = contact.phone?.trim();
  if (email) searches.push({ key: 'email', value: email, filterGroups: [eq('email', email)] });
  if (phone) searches.push({ key: 'phone', value: phone, filterGroups: [eq('phone', phone), eq('mobilephone', phone)] });
  return searches;
}

function eq(propertyName: string, value: string) {
  return { filters: [{ propertyName, operator: 'EQ' as const, value }] };
}

/** The contact id given directly, if any: it is used without a lookup. */
export function givenContactId(contact: HubspotRequest['contact']): string | undefined {
  const id = contact.id?.trim();
  return id ? id : undefined;
}

/** Why no contact was found, for messages: "no contact for email a@b.c or phone +1555…". */
export function noContactReason(searches: ContactSearch[]): string {
  if (searches.length === 0) return 'no contact id, email or phone in the request';
  return `no contact for ${searches.map((s) => `${s.key} ${s.value}`).join(' or ')}`;
}

/** Properties of a contact created for `if_no_contact: create`. */
export function newContactProperties(searches: ContactSearch[]): Record<string, string> {
  return Object.fromEntries(searches.map((s) => [s.key, s.value]));
}

/** The create body: the request's properties and the association to the contact. */
export function createInput(type: ObjectType, properties: Record<string, string>, contactId: string) {
  return {
    properties,
    associations: [
      {
        to: { id: contactId },
        types: [{ associationCategory: 'HUBSPOT_DEFINED' as const, associationTypeId: ASSOCIATION_TYPE_ID[type] }],
      },
    ],
  };
}

/**
 * HubSpot answers a duplicate contact create with 409 and "Contact already exists. Existing
 * ID: 123": a contact created by a concurrent writer (or our own crashed attempt) is the one
 * we want, so we take its id rather than failing the delivery.
 */
export function existingIdFromConflict(body: unknown): string | undefined {
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return undefined;
  return /Existing ID:\s*(\d+)/i.exec(message)?.[1];
}
