import { BLOCK_ID, BLOCKS, CUT_MARKER, ELEMENT_KEYS, ELEMENTS, SLACK_LIMITS, type Spec } from './limits.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `text` cut to `max` characters, marker included, never inside a surrogate pair and, for
 * mrkdwn, never inside an entity (`&amp;`) or a `<…>` link or mention.
 */
export function cutText(text: string, max: number, mrkdwn: boolean): string {
  if (text.length <= max) return text;
  let end = max - CUT_MARKER.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  if (mrkdwn) {
    const amp = text.lastIndexOf('&', end - 1);
    if (amp >= 0 && text.indexOf(';', amp) >= end) end = amp;
    const open = text.lastIndexOf('<', end - 1);
    if (open >= 0 && text.lastIndexOf('>', end - 1) < open) end = open;
  }
  return text.slice(0, end) + CUT_MARKER;
}

/**
 * One limit passed, at `path` (`['blocks', 0, 'text', 'text']`, shown as `at`):
 * - `cut`: the relay cut it to fit (text with `CUT_MARKER`, a list with a last "… n more");
 * - `refused`: it cannot be cut (a URL, an id, a value, buttons or options): Slack would answer
 *   `invalid_blocks`, so the request is not sent;
 * - `advice`: over what Slack advises, sent as it is (message text over 4,000).
 */
export interface SlackLimitProblem {
  path: (string | number)[];
  at: string;
  message: string;
  kind: 'cut' | 'refused' | 'advice';
}

export interface FitOptions {
  /** Return a copy cut to fit; else the request as it is, with the problems. */
  fit: boolean;
  /** Whether a string can be measured (at `rules check`: not a template, whose length is unknown). (Default: every string) */
  measurable?: (value: string) => boolean;
}

/** `['blocks', 0, 'text']` as `blocks[0].text`. */
export const formatPath = (path: (string | number)[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/**
 * Walks a Slack message (`text`, `blocks`) against Slack's limits (`limits.ts`): every place
 * text, a URL or an id goes, every list. With `fit`, returns a copy cut to fit where cutting
 * is allowed (see `SlackLimitProblem`); what cannot be cut is only reported.
 */
export function fitSlackMessage(request: Obj, options: FitOptions): { request: Obj; problems: SlackLimitProblem[] } {
  const problems: SlackLimitProblem[] = [];
  const measurable = options.measurable ?? (() => true);
  const problem = (path: (string | number)[], message: string, kind: SlackLimitProblem['kind']) => problems.push({ path, at: formatPath(path), message, kind });

  const walk = (value: unknown, spec: Spec, path: (string | number)[]): unknown => {
    switch (spec.t) {
      case 'text':
      case 'fixed': {
        if (typeof value !== 'string' || !measurable(value) || value.length <= spec.max) return value;
        problem(path, `${value.length} characters, over Slack's limit of ${spec.max} for ${spec.what}`, spec.t === 'text' ? 'cut' : 'refused');
        return spec.t === 'text' ? cutText(value, spec.max, spec.mrkdwn ?? false) : value;
      }
      case 'textObject':
        if (!isObj(value)) return value;
        return { ...value, text: walk(value.text, { t: 'text', max: spec.max, what: spec.what, mrkdwn: value.type === 'mrkdwn' }, [...path, 'text']) };
      case 'list': {
        if (!Array.isArray(value)) return value;
        let items = value;
        if (value.length > spec.max) {
          problem(path, `${value.length} ${spec.what}, over Slack's limit of ${spec.max}`, spec.more ? 'cut' : 'refused');
          if (spec.more) items = [...value.slice(0, spec.max - 1), spec.more(value.length - (spec.max - 1))];
        }
        return items.map((item, i) => walk(item, spec.item, [...path, i]));
      }
      case 'object':
        return isObj(value) ? walkKeys(value, spec.keys, path) : value;
      case 'element': {
        if (!isObj(value)) return value;
        if (value.type === 'mrkdwn' || value.type === 'plain_text') return walk(value, { t: 'textObject', max: SLACK_LIMITS.textObject, what: 'a text object' }, path);
        return walkKeys(value, { ...ELEMENT_KEYS, ...(ELEMENTS[String(value.type)] ?? {}) }, path);
      }
    }
  };
  const walkKeys = (value: Obj, keys: Record<string, Spec>, path: (string | number)[]): Obj => {
    const out: Obj = { ...value };
    for (const [key, spec] of Object.entries(keys)) if (value[key] !== undefined) out[key] = walk(value[key], spec, [...path, key]);
    return out;
  };
  const block = (value: unknown, i: number): unknown =>
    isObj(value) ? walkKeys(value, { block_id: BLOCK_ID, ...(BLOCKS[String(value.type)] ?? {}) }, ['blocks', i]) : value;

  const out: Obj = { ...request };
  if (typeof request.text === 'string' && measurable(request.text)) {
    const { length } = request.text;
    if (length > SLACK_LIMITS.messageText) {
      problem(['text'], `${length} characters, over Slack's limit of ${SLACK_LIMITS.messageText} for message text`, 'cut');
      out.text = cutText(request.text, SLACK_LIMITS.messageText, true);
    } else if (length > SLACK_LIMITS.messageTextAdvised) {
      problem(['text'], `${length} characters, over the ${SLACK_LIMITS.messageTextAdvised} Slack advises for message text (sent whole; Slack cuts at ${SLACK_LIMITS.messageText})`, 'advice');
    }
  }
  if (Array.isArray(request.blocks)) {
    let blocks: unknown[] = request.blocks;
    if (blocks.length > SLACK_LIMITS.blocks) {
      problem(['blocks'], `${blocks.length} blocks, over Slack's limit of ${SLACK_LIMITS.blocks}`, 'cut');
      const left = blocks.length - (SLACK_LIMITS.blocks - 1);
      const note = { type: 'context', elements: [{ type: 'plain_text', text: `${CUT_MARKER} ${left} more blocks not shown` }] };
      blocks = [...blocks.slice(0, SLACK_LIMITS.blocks - 1), note];
    }
    out.blocks = blocks.map(block);
  }
  return { request: options.fit ? out : request, problems };
}
