/**
 * Request shapes the HTTP clients (fetch/undici, node-fetch, node:http) refuse before sending:
 * such a request can never go out, so it is a permanent `invalid_request` that says what and
 * where, never a transient failure retried until dead (issue 11 item 15). Messages name the
 * header and the position, never the value (a value may be a credential).
 */

/** RFC 9110 §5.6.2 token: what a header name and a method may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers undici sets itself and refuses from a caller (`connection` only with other values than these). */
const CLIENT_SET = new Set(['content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect']);
const CONNECTION_OK = /^\s*(close|keep-alive)\s*$/i;

/** Methods fetch refuses to send (Fetch standard: forbidden methods). */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * Why a header cannot be sent, or null. A value may hold tab, printable ASCII and Latin-1
 * (U+0080–U+00FF); a line break, another control character or anything above U+00FF is refused.
 * `where` says whose header it is (`the rule's headers`, `sink "audit" headers`, …).
 */
export function headerProblem(name: string, value: string, where: string): string | null {
  return headerNameProblem(name, value, where) ?? headerValueProblem(name, value, where);
}

/**
 * A sink kind's `checkConfig` for a credential sent as `Authorization: Bearer …` (Slack's
 * `token`, HubSpot's `access_token`): one the HTTP client cannot send is a located problem at
 * load, not a failure at every attempt.
 */
export function checkBearerCredential<F extends string>(field: F) {
  return (config: Partial<Record<F, unknown>>, report: (path: string[], message: string) => void): void => {
    const value = config[field];
    const problem = typeof value === 'string' && value ? headerProblem('Authorization', value, field) : null;
    if (problem) report([field], problem);
  };
}

/**
 * `headerProblem` for a header as written in the rules file (`rules check`), where the value may
 * hold templates: the name, and the value's own text around its templates, are checked now;
 * what a template renders is checked when the request is sent.
 */
export function writtenHeaderProblem(name: string, value: string, where: string): string | null {
  if (!/\{\{|\{%/.test(value)) return headerProblem(name, value, where);
  // each template tag stands as that many spaces, so positions stay those of the file
  const literal = value.replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, (tag) => ' '.repeat(tag.length));
  return headerNameProblem(name, 'close', where) ?? headerValueProblem(name, literal, where);
}

function headerNameProblem(name: string, value: string, where: string): string | null {
  if (!TOKEN.test(name)) {
    return `${where}: ${JSON.stringify(name)} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`;
  }
  const lower = name.toLowerCase();
  if (CLIENT_SET.has(lower) || (lower === 'connection' && !CONNECTION_OK.test(value))) {
    return `${where}: header "${name}" is set by the HTTP client itself and cannot be sent; remove it`;
  }
  return null;
}

function headerValueProblem(name: string, value: string, where: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const c = value.codePointAt(i)!;
    const at = `in its value at character ${i + 1}`;
    if (c === 0x0a || c === 0x0d) return `${where}: header "${name}" has a line break (CR or LF) ${at}: a header value is one line`;
    if (c > 0xff) {
      return `${where}: header "${name}" has ${codePoint(c)}, which is not Latin-1, ${at}: HTTP header values are bytes; percent-encode it`;
    }
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return `${where}: header "${name}" has the control character ${codePoint(c)} ${at}`;
  }
  return null;
}

/** The first problem among these headers, or null. */
export function headersProblem(headers: Record<string, string>, where: string): string | null {
  for (const [name, value] of Object.entries(headers)) {
    const problem = headerProblem(name, value, where);
    if (problem) return problem;
  }
  return null;
}

/** Why fetch would refuse this method, or null. Expects it upper-cased. */
export function methodProblem(method: string): string | null {
  if (!TOKEN.test(method)) return `method ${JSON.stringify(method)} is not a valid HTTP method`;
  if (FORBIDDEN_METHODS.has(method)) return `method ${method} cannot be sent: fetch refuses CONNECT, TRACE and TRACK`;
  return null;
}

/** Why fetch would refuse this URL, or null. Never quotes the URL (it may carry a credential). */
export function urlProblem(url: string, where: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${where}: not a valid URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${where}: must start with http:// or https://, not ${parsed.protocol}//`;
  if (parsed.username || parsed.password) {
    return `${where}: has a user name or password in it, which fetch refuses; send credentials in the sink's headers`;
  }
  return null;
}

function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}
