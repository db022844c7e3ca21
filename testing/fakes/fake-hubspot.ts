import { startFakeServer, type FakeConnections, type FakeControls, type Fault, type RecordedRequest, type Reply } from './fake-server.js';

/**
 * A fake HubSpot CRM v3 for `@hubspot/api-client` (point `basePath` at `url`). Keeps contacts,
 * calls and notes in memory and implements what the SDK calls: contact search (EQ filters,
 * groups ORed), create (201 + JSON, with `associations`), update (PATCH), get by id, archive
 * (DELETE, 204). An archived object answers 404 `OBJECT_NOT_FOUND` to get and update, as HubSpot does.
 *
 *   const hubspot = await startFakeHubspot({ token: 'pat-1' });
 *   const id = hubspot.seedContact({ email: 'ada@example.com' });
 *   hubspot.failNext({ status: 409 }, { path: '/objects/calls' });
 */

export type HubspotObjectType = 'contacts' | 'calls' | 'notes';

export interface FakeHubspotObject {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface FakeAssociation {
  fromType: HubspotObjectType;
  fromId: string;
  toId: string;
  associationCategory: string;
  associationTypeId: number;
}

export interface FakeHubspot extends FakeControls {
  /** Base for `basePath`: `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly objects: Record<HubspotObjectType, Map<string, FakeHubspotObject>>;
  /** Every association given in a create body. */
  readonly associations: FakeAssociation[];
  /** Adds a contact; returns its id. */
  seedContact(properties: Record<string, string>): string;
  /** Archives (deletes) an object as someone in HubSpot would. False if there is none. */
  deleteObject(type: HubspotObjectType, id: string): boolean;
  /** A fault with `status` and no `body` gets a HubSpot-shaped error body. */
  failNext: FakeControls['failNext'];
  /** Connections accepted since the start, and those still open (the sink's keep-alive pool). */
  connections(): FakeConnections;
}

export interface FakeHubspotOptions {
  /** When set, any other bearer token answers 401. */
  token?: string;
  /** Keep every request in `requests`. (Default: true) */
  record?: boolean;
}

const CATEGORY: Record<number, string> = {
  401: 'INVALID_AUTHENTICATION',
  404: 'OBJECT_NOT_FOUND',
  409: 'CONFLICT',
  429: 'RATE_LIMITS',
};

export async function startFakeHubspot(options: FakeHubspotOptions = {}): Promise<FakeHubspot> {
  const objects: FakeHubspot['objects'] = { contacts: new Map(), calls: new Map(), notes: new Map() };
  const associations: FakeAssociation[] = [];
  let nextId = 1000;

  const store = (type: HubspotObjectType, properties: Record<string, string>): FakeHubspotObject => {
    const at = new Date(Date.UTC(2026, 0, 1)).toISOString();
    const object = { id: String(++nextId), properties: { ...properties }, createdAt: at, updatedAt: at };
    objects[type].set(object.id, object);
    return object;
  };

  const handler = (req: RecordedRequest): Reply => {
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      return hubspotError(401, 'Authentication credentials not found.');
    }
    const match = /^\/crm\/v3\/objects\/(contacts|calls|notes)(?:\/([^/]+))?$/.exec(req.path);
    if (!match) return hubspotError(404, `no fake route for ${req.method} ${req.path}`);
    const type = match[1] as HubspotObjectType;
    const id = match[2];
    const body = (req.body ?? {}) as Record<string, unknown>;

    if (req.method === 'POST' && id === 'search') return { status: 200, body: search(objects[type], body) };
    if (req.method === 'POST' && id === undefined) {
      const properties = (body.properties ?? {}) as Record<string, string>;
      if (type === 'contacts' && properties.email) {
        const existing = [...objects.contacts.values()].find((c) => sameValue(c.properties.email, properties.email));
        if (existing) return hubspotError(409, `Contact already exists. Existing ID: ${existing.id}`);
      }
      const object = store(type, properties);
      for (const a of (body.associations ?? []) as { to: { id: string }; types: { associationCategory: string; associationTypeId: number }[] }[]) {
        for (const t of a.types) associations.push({ fromType: type, fromId: object.id, toId: a.to.id, ...t });
      }
      return { status: 201, body: publicObject(object) };
    }
    const object = id === undefined ? undefined : objects[type].get(id);
    if (!object) return hubspotError(404, `Object not found. objectId are usually numeric.`);
    if (req.method === 'PATCH') {
      Object.assign(object.properties, (body.properties ?? {}) as Record<string, string>);
      object.updatedAt = new Date(Date.parse(object.updatedAt) + 1000).toISOString();
      return { status: 200, body: publicObject(object) };
    }
    if (req.method === 'GET') return { status: 200, body: publicObject(object) };
    if (req.method === 'DELETE') {
      objects[type].delete(object.id);
      return { status: 204 };
    }
    return hubspotError(405, `method ${req.method} not faked`);
  };

  const server = await startFakeServer(handler, { record: options.record });
  /** A fault with `status` and no `body` gets a HubSpot-shaped error body. */
  const shaped = (fault: Fault): Fault =>
    'status' in fault && fault.body === undefined ? { ...fault, body: hubspotError(fault.status, `injected ${fault.status}`).body } : fault;
  return {
    url: server.origin,
    requests: server.requests,
    connections: () => server.connections(),
    objects,
    associations,
    seedContact: (properties) => store('contacts', properties).id,
    deleteObject: (type, id) => objects[type].delete(id),
    failNext: (fault, faultOptions) => server.failNext(shaped(fault), faultOptions),
    chaos: (pick) => server.chaos(pick && ((req) => {
      const fault = pick(req);
      return fault && shaped(fault);
    })),
    reset() {
      server.reset();
      for (const map of Object.values(objects)) map.clear();
      associations.length = 0;
    },
    close: () => server.close(),
  };
}

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
}

function search(objects: Map<string, FakeHubspotObject>, body: Record<string, unknown>) {
  const groups = (body.filterGroups ?? []) as { filters: Filter[] }[];
  const matchesFilter = (o: FakeHubspotObject, f: Filter) => f.operator === 'EQ' && sameValue(o.properties[f.propertyName], f.value);
  const results = [...objects.values()].filter(
    (o) => groups.length === 0 || groups.some((g) => g.filters.every((f) => matchesFilter(o, f))),
  );
  const limit = typeof body.limit === 'number' ? body.limit : 10;
  return { total: results.length, results: results.slice(0, limit).map(publicObject) };
}

/** HubSpot compares email case-insensitively. */
function sameValue(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

function publicObject(o: FakeHubspotObject) {
  return { id: o.id, properties: { ...o.properties, hs_object_id: o.id }, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: false };
}

function hubspotError(status: number, message: string): Reply {
  return {
    status,
    body: { status: 'error', message, correlationId: '00000000-0000-0000-0000-000000000000', category: CATEGORY[status] ?? 'VALIDATION_ERROR' },
  };
}
