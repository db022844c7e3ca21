import fc from 'fast-check';
import type { Envelope } from '../../src/receive/envelope.js';

/**
 * fast-check arbitraries for hostile events and random rules: unicode and control characters
 * everywhere, keys named like JavaScript object properties, nesting from flat to hundreds of
 * levels, big lists; Liquid templates and CEL conditions built from the constructs users
 * write, including the expensive ones (nested loops, ranges, regexes, comprehensions).
 */

const KEYS = ['summary', 'duration_seconds', 'items', 'reason', 'to_number', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'n', 'x'];

const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('<!channel>', 'Q&A <note> ', 'now', '2026-06-01T10:00:00', '{{', '%}'));

/** A value nested `depth` levels: lists or objects. */
const nested = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.boolean()).map(([depth, asList]) => {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = asList ? [v] : { k: v };
  return v;
});

const value: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.double(),
  fc.integer({ min: -1e9, max: 1e9 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(text, fc.integer()), { maxLength: 400 }),
  nested,
  fc.jsonValue({ maxDepth: 4 }),
);

/** `data` with the three required fields and random others. */
export const eventData = fc
  .tuple(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 6 }), fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), value, { maxKeys: 3 }))
  .map(([known, other]) => JSON.parse(JSON.stringify({ ...other, ...known, call_id: 'call_p', agent_id: 'agent_p', status: 's' })) as Envelope['data']);

export const eventType = fc.oneof(
  fc.constantFrom('call.initiated', 'call.answered', 'call.completed', 'call.failed', 'call.disallowed'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.string({ maxLength: 10 }).map((s) => `call.${s}\n`),
);

const field = fc.constantFrom(...KEYS.map((k) => `data.${k}`), 'data["__proto__"]', 'event.event_type', 'seq', 'received_at');
const filter = fc.constantFrom('', ' | upcase', ' | truncate: 5', ' | escape', ' | raw', ' | size', " | date: '%H:%M'", ' | duration', ' | default: "-"', ' | split: "" | join: ","', ' | append: "&"', ' | first', ' | json');

/** One piece of a template; pieces nest a little. */
const piece: fc.Arbitrary<string> = fc.letrec<{ piece: string }>((tie) => ({
  piece: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((t) => t.replace(/[{}%]/g, '')),
    fc.tuple(field, filter).map(([f, x]) => `{{ ${f}${x} }}`),
    fc.tuple(field, tie('piece')).map(([f, p]) => `{% for a in ${f} %}${p}{% endfor %}`),
    fc.tuple(field, tie('piece')).map(([f, p]) => `{% if ${f} == "x" %}${p}{% else %}-{% endif %}`),
    fc.tuple(tie('piece')).map(([p]) => `{% capture c %}${p}{% endcapture %}{{ c }}`),
    field.map((f) => `{% for i in (1..${f}) %}*{% endfor %}`),
    field.map((f) => `{% assign v = ${f} %}{{ v }}`),
  ),
})).piece;

export const template = fc.array(piece, { minLength: 1, maxLength: 4 }).map((ps) => ps.join(''));

export const when = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    'data.duration_seconds >= 30.0',
    'data.summary.matches("(a+)+$")',
    'has(data.reason) && data.reason == "dnd"',
    'data.items.all(a, data.items.all(b, true))',
    'size(data) > 3',
    'data.constructor == "x"',
    'data.n < "45"',
    'data.x[0] == 1',
    'event.event_type.startsWith("call.")',
  ),
);

const yamlString = (s: string) => JSON.stringify(s);

/** A rules file with one rule per sink kind, all from random templates and conditions. */
export const rulesFile = fc.tuple(template, template, template, template, when, fc.constantFrom('"*"', 'call.*', 'call.completed')).map(([t1, t2, t3, t4, w, on]) => `version: 1
sinks:
  slack: { type: slack, token: xoxb-p }
  web: { type: http, url: "https://p.test/in" }
  crm: { type: hubspot, access_token: pat-p }
  console: { type: log }
rules:
  - id: p
    on: ${on}
${w ? `    when: ${yamlString(w)}\n` : ''}    actions:
      - { sink: slack, channel: "#p", text: ${yamlString(t1)}, blocks: [{ type: section, text: { type: mrkdwn, text: ${yamlString(t2)} } }] }
      - { sink: web }
      - { sink: web, body: { a: ${yamlString(t3)} } }
      - { sink: crm, create: note, contact: { email: ${yamlString(t4)} } }
      - { sink: console, text: ${yamlString(t4)} }
`);
