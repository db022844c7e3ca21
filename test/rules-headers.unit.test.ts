import { describe, expect, it } from 'vitest';
import { loadRulesFromText } from '../src/rules/load-rules.js';
import { formatProblem } from '../src/rules/problem.js';

/*
 * Headers written out in the rules file (residual I): what the HTTP client would refuse to send
 * is a located problem when the file loads (rules check, a reload), not a dead delivery found at
 * the first event. Templated values are checked when sent; their names and written text now.
 */

function problems(yaml: string, env: Record<string, string> = {}): string[] {
  const result = loadRulesFromText(yaml, 'rules.yaml', env);
  return (result.ok ? result.warnings : result.problems).map(formatProblem);
}

const sinkWith = (headers: string) => `version: 1
sinks:
  audit:
    type: http
    url: "https://audit.example/in"
    headers:
${headers}
rules: []
`;

const actionWith = (headers: string) => `version: 1
sinks:
  audit: { type: http, url: "https://audit.example/in" }
rules:
  - id: r
    on: call.completed
    actions:
      - sink: audit
        headers:
${headers}
`;

describe('http sink headers (the sink declaration)', () => {
  it.each([
    ['a line break in the value', '      X-Token: "abc\\r\\nX-Injected: 1"', 'rules.yaml:7:16: headers: header "X-Token" has a line break (CR or LF) in its value at character 4: a header value is one line'],
    ['a character above Latin-1', '      X-Name: "Zoë ✓"', 'rules.yaml:7:15: headers: header "X-Name" has U+2713, which is not Latin-1, in its value at character 5: HTTP header values are bytes; percent-encode it'],
    ['a control character', '      X-Bell: "a\\u0007b"', 'rules.yaml:7:15: headers: header "X-Bell" has the control character U+0007 in its value at character 2'],
    ['a space in the name', '      "X Bad": "1"', `rules.yaml:7:16: headers: "X Bad" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`],
    ['a colon in the name', '      "X:Bad": "1"', `rules.yaml:7:16: headers: "X:Bad" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`],
    ['a header the client sets', '      Content-Length: "12"', 'rules.yaml:7:23: headers: header "Content-Length" is set by the HTTP client itself and cannot be sent; remove it'],
  ])('%s: an error at the header', (_name, header, expected) => {
    expect(problems(sinkWith(header))).toEqual([expected]);
  });

  it('a ${VAR} value with a line break (a pasted token) is an error at the header too', () => {
    expect(problems(sinkWith('      Authorization: "Bearer ${AUDIT_TOKEN}"'), { AUDIT_TOKEN: 'tok\n' })).toEqual([
      'rules.yaml:7:22: headers: header "Authorization" has a line break (CR or LF) in its value at character 11: a header value is one line',
    ]);
  });

  it('a url with a user name and password: an error at the url', () => {
    expect(problems(sinkWith('      X-Ok: "1"').replace('https://audit.example/in', 'https://me:pw@audit.example/in'))).toEqual([
      "rules.yaml:5:10: url: has a user name or password in it, which fetch refuses; send credentials in the sink's headers",
    ]);
  });

  it('tab, Latin-1 and printable ASCII: fine', () => {
    expect(problems(sinkWith('      X-Name: "Zoë\\tRenée"\n      Connection: close'))).toEqual([]);
  });
});

describe('the rule\'s headers (an http action)', () => {
  it.each([
    ['a written value with a line break', '          X-Lit: "a\\nb"', 'rules.yaml:10:18: headers: header "X-Lit" has a line break (CR or LF) in its value at character 2: a header value is one line'],
    ['a written value above Latin-1', '          X-Lit: "café ✓"', 'rules.yaml:10:18: headers: header "X-Lit" has U+2713, which is not Latin-1, in its value at character 6: HTTP header values are bytes; percent-encode it'],
    ['a templated value with a line break written after the template', '          X-Mixed: "{{ data.call_id }}\\n"', 'rules.yaml:10:20: headers: header "X-Mixed" has a line break (CR or LF) in its value at character 19: a header value is one line'],
    ['an invalid name, whatever its value', '          "Bad Name": "{{ data.call_id }}"', `rules.yaml:10:23: headers: "Bad Name" is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only)`],
    ['a header the client sets, templated', '          Transfer-Encoding: "{{ data.call_id }}"', 'rules.yaml:10:30: headers: header "Transfer-Encoding" is set by the HTTP client itself and cannot be sent; remove it'],
  ])('%s: an error at the header', (_name, header, expected) => {
    expect(problems(actionWith(header))).toEqual([expected]);
  });

  it('templated values are left to the delivery (what they render is checked when sent)', () => {
    expect(problems(actionWith('          X-Call: "{{ data.call_id }}"\n          Connection: "{{ data.call_id }}"'))).toEqual([]);
  });
});

describe('SDK sink tokens, which go in the Authorization header', () => {
  it.each([
    ['slack', 'token', 'slack: { type: slack, token: "xoxb-1234\\n" }', 'rules.yaml:3:32: token: header "Authorization" has a line break (CR or LF) in its value at character 10'],
    ['hubspot', 'access_token', 'hubspot: { type: hubspot, access_token: "pat-na1-“x”" }', 'rules.yaml:3:43: access_token: header "Authorization" has U+201C, which is not Latin-1, in its value at character 9'],
  ])('%s %s that cannot be sent: an error at the token', (_kind, _field, sink, expected) => {
    const result = problems(`version: 1\nsinks:\n  ${sink}\nrules: []\n`);
    expect(result).toHaveLength(1);
    expect(result[0]!.slice(0, expected.length)).toBe(expected);
  });
});
