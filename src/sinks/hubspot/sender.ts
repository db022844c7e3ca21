import type { Agent as HttpAgent } from 'node:http';
import { Client } from '@hubspot/api-client';
import { z } from 'zod';
import { DEFAULTS } from '../../config/defaults.js';
import { baseUrlProblem } from '../../config/env-values.js';
import { supersededReason } from '../../delivery/call-stage.js';
import type { DeliveryError } from '../../log/types.js';
import { classifyNetworkError, classifyStatus, failed, succeeded } from '../classify.js';
import { guarded } from '../guard.js';
import { redactorFor } from '../redact.js';
import { headerProblem } from '../request-shape.js';
import type { AttemptContext, AttemptOutcome, PooledSink } from '../types.js';
import { createHubspotPool } from './pool.js';
import { contactSearches, createInput, existingIdFromConflict, givenContactId, newContactProperties, noContactReason, upsertTarget, type ObjectType } from './plan.js';
import { hubspotRequestSchema, type HubspotRequest, type HubspotSinkConfig } from './schema.js';

/**
 * HubSpot sink: finds the contact, then creates (or, with an upsert key, updates) a call or
 * note associated with it. An upsert of an earlier stage of the call than the object shows is
 * skipped (see `call-stage.ts`); one whose object was deleted creates it afresh. One attempt may make up to three requests (search, create contact,
 * create object); `timeout_ms` bounds the whole attempt. Requests go over a keep-alive pool of
 * the sink's own (`pool.ts`) of at most `concurrency` sockets (Default: 4).
 */

export interface HubspotSinkOptions {
  /** `HUBSPOT_BASE_URL`: an absolute http(s) URL; anything else fails every attempt as a permanent `invalid_request` naming it. */
  hubspotBaseUrl: string;
  /** Clock for Retry-After dates. (Default: Date.now) */
  now?: () => number;
}

/** A failure decided by us mid-attempt (no contact, HTTP error of one step). */
class StepFailure extends Error {
  constructor(readonly outcome: AttemptOutcome) {
    super('step failed');
  }
}

/** A HubSpot sink from its declaration (what it does: above). Throws if `access_token` is missing. */
export function createHubspotSink(name: string, config: HubspotSinkConfig, options: HubspotSinkOptions): PooledSink {
  if (!config.access_token) throw new Error(`sink "${name}": options.access_token required`);
  const now = options.now ?? Date.now;
  const timeout = config.timeout_ms ?? DEFAULTS.delivery.timeoutMs;
  const redactor = redactorFor(hubspotSecrets(config));
  // the token goes in the Authorization header: one node-fetch cannot send is refused here, not retried
  const tokenProblem = headerProblem('Authorization', config.access_token, `sink "${name}" access_token`);
  // The pool's scheme and the SDK's must be one: an empty basePath made the SDK use its own
  // https default over the pool's plain-http agent ('Protocol "https:" not supported'). `serve`
  // refuses a base that is not an absolute http(s) URL; one given by code sends nothing.
  const baseProblem = baseUrlProblem('HUBSPOT_BASE_URL', options.hubspotBaseUrl);
  const pool = createHubspotPool(options.hubspotBaseUrl, { maxSockets: config.concurrency ?? DEFAULTS.delivery.concurrency });
  const client = new Client({
    accessToken: config.access_token,
    basePath: options.hubspotBaseUrl.replace(/\/+$/, ''),
    numberOfApiCallRetries: 1, // counts attempts: 1 = no SDK retry (a process-wide setting)
  });

  async function send(raw: Record<string, unknown>, ctx: AttemptContext): Promise<AttemptOutcome> {
    if (tokenProblem) return failed({ kind: 'permanent', code: 'invalid_request', message: tokenProblem });
    if (baseProblem) return failed({ kind: 'permanent', code: 'invalid_request', message: baseProblem });
    const erase = archiveTarget(raw);
    const parsed = erase ? null : hubspotRequestSchema.safeParse(raw);
    if (parsed && !parsed.success) {
      return failed({ kind: 'permanent', code: 'invalid_request', message: `invalid HubSpot request: ${z.prettifyError(parsed.error)}` });
    }
    // The SDK has no request timeout and gives node-fetch no AbortSignal. What does abort a
    // request is destroying it (and its socket), so each attempt sees the pool through its own agent.
    const view = pool.attempt();
    const opts = callOptions(view.agent);
    const timer = AbortSignal.timeout(timeout);
    const signal = ctx.signal ? AbortSignal.any([timer, ctx.signal]) : timer;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        view.cut(signal.reason as Error);
        reject(signal.reason as Error);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([erase ? archive(erase, opts) : attempt(parsed!.data, ctx, opts), aborted]);
    } catch (err) {
      if (err instanceof StepFailure) return err.outcome;
      return classifyNetworkError(err, timer.aborted);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      view.end();
    }
  }

  async function attempt(request: HubspotRequest, ctx: AttemptContext, opts: CallOptions): Promise<AttemptOutcome> {
    const target = upsertTarget(request, ctx.keyState);
    let restarted: string | undefined;
    if (target) {
      // the object shows the furthest stage of the call: a late earlier event does not take it back
      const superseded = supersededReason(ctx.eventType, ctx.keyState);
      if (superseded) return succeeded({ skipped: superseded });
      const api = objectApi(target.object_type);
      try {
        await step(`updating ${target.object_type} ${target.object_id}`, () => api.update(target.object_id, { properties: request.properties }, undefined, opts));
        return succeeded({ object_type: target.object_type, object_id: target.object_id, contact_id: target.contact_id ?? null });
      } catch (err) {
        if (!(err instanceof StepFailure) || codeOf(err.outcome) !== 'object_not_found') throw err;
        // deleted (archived) in HubSpot: create it afresh; the key follows the new object
        restarted = 'object_not_found';
      }
    }
    const contact = await findContact(request, opts);
    if ('skipped' in contact) return succeeded(contact);
    const api = objectApi(request.create);
    // The SDK's enums are exactly these strings at runtime; `as never` bridges the TS enum types.
    const input = createInput(request.create, request.properties, contact.id) as never;
    const created = await step(`creating ${request.create}`, () => api.create(input, opts));
    return succeeded({ object_type: request.create, object_id: created.id, contact_id: contact.id, ...(restarted && { restarted }) });
  }

  async function findContact(request: HubspotRequest, opts: CallOptions): Promise<{ id: string } | { skipped: string }> {
    const id = givenContactId(request.contact);
    if (id) return { id };
    const searches = contactSearches(request.contact);
    for (const search of searches) {
      const found = await step(`searching contacts by ${search.key}`, () =>
        client.crm.contacts.searchApi.doSearch({ filterGroups: search.filterGroups as never, properties: ['email'], limit: 1 }, opts),
      );
      const first = found.results[0];
      if (first) return { id: first.id };
    }
    const reason = noContactReason(searches);
    if (request.if_no_contact === 'skip') return { skipped: reason };
    if (request.if_no_contact === 'fail' || searches.length === 0) {
      throw new StepFailure(failed({ kind: 'permanent', code: 'no_contact', message: `HubSpot: ${reason}` }));
    }
    return { id: await createContact(newContactProperties(searches), opts) };
  }

  async function createContact(properties: Record<string, string>, opts: CallOptions): Promise<string> {
    try {
      return (await client.crm.contacts.basicApi.create({ properties, associations: [] }, opts)).id;
    } catch (err) {
      const existing = statusOf(err) === 409 ? existingIdFromConflict((err as { body?: unknown }).body) : undefined;
      if (existing) return existing;
      throw new StepFailure(httpFailure('creating contact', err));
    }
  }

  async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (statusOf(err) === undefined) throw err; // no HTTP answer: classified as a network error
      throw new StepFailure(httpFailure(what, err));
    }
  }

  function httpFailure(what: string, err: unknown): AttemptOutcome {
    const status = statusOf(err) ?? 0;
    const { body, headers } = err as { body?: { message?: unknown; category?: unknown }; headers?: Record<string, string> };
    // masked in the whole message first, then cut (an echoed token is never cut in half)
    const detail = typeof body?.message === 'string' ? redactor.excerpt(body.message) : undefined;
    const outcome = classifyStatus(status, headers?.['retry-after'], now(), detail);
    const error: DeliveryError = { ...outcome.error, message: `${what}: ${outcome.error.message}` };
    if (status === 401) error.message = `${what}: HubSpot rejected the access token (HTTP 401)`;
    if (status === 404 && what.startsWith('updating')) error.code = 'object_not_found';
    if (status === 409) error.code = 'conflict';
    return { ...outcome, error };
  }

  /** `erase --downstream`: archives the object a delivery of the erased call created; one archived already is done. */
  async function archive(target: { object_type: ObjectType; object_id: string }, opts: CallOptions): Promise<AttemptOutcome> {
    try {
      await step(`archiving ${target.object_type} ${target.object_id}`, () => objectApi(target.object_type).archive(target.object_id, opts));
    } catch (err) {
      if (err instanceof StepFailure && codeOf(err.outcome) === 'object_not_found') return succeeded({ skipped: 'object_not_found' });
      throw err;
    }
    return succeeded({ archived: target.object_id });
  }

  function objectApi(type: ObjectType) {
    return type === 'call' ? client.crm.objects.calls.basicApi : client.crm.objects.notes.basicApi;
  }

  return { ...guarded({ name, type: config.type, send }, redactor), close: () => pool.close() };
}

/** The object an `erase --downstream` delivery archives (`{erase: {object_type, object_id}}`), or null for any other request. */
function archiveTarget(raw: Record<string, unknown>): { object_type: ObjectType; object_id: string } | null {
  const erase = raw['erase'] as Record<string, unknown> | undefined;
  const type = erase?.['object_type'];
  return (type === 'call' || type === 'note') && typeof erase?.['object_id'] === 'string' ? { object_type: type, object_id: erase['object_id'] } : null;
}

/** The private app token: the one secret of a HubSpot sink. */
export function hubspotSecrets(config: HubspotSinkConfig): string[] {
  return [config.access_token];
}

/**
 * Per-call options that put the request on this attempt's agent (its view of the sink's pool). It has to be per call:
 * @hubspot/api-client 13.4 drops the configured middleware (its `httpAgent` too) unless a
 * call passes its own, so `new Client({ httpAgent })` silently uses node's global agent.
 */
// `never`: each generated API module declares its own options type; this one value fits all.
type CallOptions = never;

function callOptions(agent: HttpAgent): CallOptions {
  const middleware = {
    pre: async (context: { setAgent(agent: HttpAgent): void }) => {
      context.setAgent(agent);
      return context;
    },
    post: async <T>(context: T) => context,
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'replace' } as never;
}

function codeOf(outcome: AttemptOutcome): string | undefined {
  return outcome.outcome === 'failed' ? outcome.error.code : undefined;
}

/** HubSpot's ApiException carries the HTTP status as a numeric `code`; fetch errors a string. */
function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
