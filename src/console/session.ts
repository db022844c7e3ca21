import { randomBytes } from 'node:crypto';
import Tokens from 'csrf';
import type { Context, Next } from 'koa';
import { DEFAULTS } from '../config/defaults.js';

/**
 * The console's sessions, CSRF tokens and sign-in rate limit (README "Console"), in memory:
 * a restart signs everyone out, which is what a small single-process console wants.
 *
 * - A session is a random id in an HttpOnly, SameSite=Strict cookie scoped to `/ui`; it is
 *   made when the sign-in page is shown (so the sign-in form has a CSRF token too) and is
 *   signed in by the token. It ends after `idleMs` without a request.
 * - CSRF: each session has a `csrf` secret; every POST must carry a token made from it
 *   (form field `_csrf` or header `X-CSRF-Token`), else 403.
 * - Sign-in: at most `maxFailures` wrong tokens per client address in `windowMs`; then 429.
 */

const COOKIE = 'husky_relay_ui';

/** One browser's session. */
export interface Session {
  id: string;
  csrfSecret: string;
  signedIn: boolean;
  /** Epoch ms of its last request. */
  seen: number;
  /** A one-line message for the next page (what an action did). */
  flash?: string;
}

export interface SessionOptions {
  /** Epoch ms now. (Default: `Date.now`) */
  now?: () => number;
  /** How long a session lives without a request. (Default: 12 h) */
  idleMs?: number;
  /** Wrong tokens allowed per client address per window. (Default: 5) */
  maxFailures?: number;
  /** The rate limit's window. (Default: 15 min) */
  windowMs?: number;
}

const tokens = new Tokens();

/** Sessions, CSRF and the sign-in rate limit of one console. */
export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly idleMs: number;
  private readonly maxFailures: number;
  private readonly windowMs: number;

  constructor(options: SessionOptions = {}) {
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? DEFAULTS.console.sessionIdleMs;
    this.maxFailures = options.maxFailures ?? DEFAULTS.console.signInFailures;
    this.windowMs = options.windowMs ?? DEFAULTS.console.signInWindowMs;
  }

  /** The request's live session, if its cookie names one. */
  current(ctx: Context): Session | undefined {
    const id = ctx.cookies.get(COOKIE);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return undefined;
    if (this.now() - session.seen > this.idleMs) {
      this.sessions.delete(session.id);
      return undefined;
    }
    session.seen = this.now();
    return session;
  }

  /** The request's session, or a new one (not signed in) with its cookie set. */
  ensure(ctx: Context): Session {
    return this.current(ctx) ?? this.start(ctx, false);
  }

  /** A new session replacing the request's (a new id at sign-in: no fixation). */
  start(ctx: Context, signedIn: boolean): Session {
    const old = ctx.cookies.get(COOKIE);
    if (old !== undefined) this.sessions.delete(old);
    this.prune();
    const session: Session = { id: randomBytes(32).toString('base64url'), csrfSecret: tokens.secretSync(), signedIn, seen: this.now() };
    this.sessions.set(session.id, session);
    ctx.cookies.set(COOKIE, session.id, { httpOnly: true, sameSite: 'strict', path: '/ui', secure: ctx.secure, overwrite: true });
    return session;
  }

  /** Ends the request's session and clears its cookie. */
  end(ctx: Context): void {
    const id = ctx.cookies.get(COOKIE);
    if (id !== undefined) this.sessions.delete(id);
    ctx.cookies.set(COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/ui', maxAge: 0, overwrite: true });
  }

  /** A CSRF token for the session's forms. */
  csrfToken(session: Session): string {
    return tokens.create(session.csrfSecret);
  }

  /** Whether `token` was made for this session. */
  csrfValid(session: Session | undefined, token: unknown): boolean {
    return session !== undefined && typeof token === 'string' && tokens.verify(session.csrfSecret, token);
  }

  /** Milliseconds until `address` may try again, or 0 when it may now. */
  blockedFor(address: string): number {
    const recent = this.recentFailures(address);
    if (recent.length < this.maxFailures) return 0;
    return recent[0]! + this.windowMs - this.now();
  }

  /** Counts a wrong token from `address`. */
  failed(address: string): void {
    this.failures.set(address, [...this.recentFailures(address), this.now()]);
  }

  private recentFailures(address: string): number[] {
    const since = this.now() - this.windowMs;
    const recent = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (recent.length === 0) this.failures.delete(address);
    else this.failures.set(address, recent);
    return recent;
  }

  /** Drops idle sessions, and the oldest ones past `DEFAULTS.console.maxSessions` (anyone may open the sign-in page). */
  private prune(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (now - s.seen > this.idleMs) this.sessions.delete(id);
    for (const id of this.sessions.keys()) {
      if (this.sessions.size < DEFAULTS.console.maxSessions) break;
      const s = this.sessions.get(id)!;
      if (!s.signedIn) this.sessions.delete(id);
    }
  }
}

/** Koa middleware: a POST without a valid CSRF token for its session is refused with 403. `token` reads the parsed form. */
export function requireCsrf(sessions: Sessions, token: (ctx: Context) => unknown) {
  return async (ctx: Context, next: Next) => {
    if (ctx.method === 'POST') {
      const given = ctx.get('x-csrf-token') || token(ctx);
      if (!sessions.csrfValid(sessions.current(ctx), given)) {
        ctx.status = 403;
        ctx.type = 'text/plain';
        ctx.body = 'Forbidden: the form is out of date or did not come from this console (CSRF). Reload the page and try again.';
        return;
      }
    }
    await next();
  };
}
