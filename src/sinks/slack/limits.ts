/**
 * Slack's limits on the text of a message, measured on what Slack receives (after mrkdwn
 * escaping: `&` counts as the 5 characters of `&amp;`). Sources:
 * - chat.postMessage, https://api.slack.com/methods/chat.postMessage: `text` is cut by Slack
 *   at 40,000 characters; longer answers `msg_too_long`.
 * - Block Kit blocks, https://api.slack.com/reference/block-kit/blocks: up to 50 blocks per
 *   message; section `text` at most 3,000 characters, `fields` at most 10 items of 2,000
 *   each; header `text` at most 150; context at most 10 elements; image `alt_text` at most
 *   2,000; markdown block `text` at most 12,000. Over any of them Slack answers `invalid_blocks`.
 * - Text objects, https://api.slack.com/reference/block-kit/composition-objects#text: `text`
 *   at most 3,000 characters.
 * Lengths are JavaScript string lengths (UTF-16 code units), never fewer than Slack counts.
 */
export const SLACK_LIMITS = {
  /** Message `text`. (Default: 40,000) */
  messageText: 40_000,
  /** Blocks in one message. (Default: 50) */
  blocks: 50,
  /** A text object's `text`, section text among them. (Default: 3,000) */
  textObject: 3_000,
  /** Each of a section's `fields`. (Default: 2,000) */
  sectionField: 2_000,
  /** Items in a section's `fields`. (Default: 10) */
  sectionFields: 10,
  /** A header block's text. (Default: 150) */
  headerText: 150,
  /** Elements of a context block. (Default: 10) */
  contextElements: 10,
  /** An image's `alt_text`. (Default: 2,000) */
  altText: 2_000,
  /** A markdown block's `text`. (Default: 12,000) */
  markdownBlock: 12_000,
} as const;

/** What the relay puts where it cut text: visible to readers, one character. */
export const CUT_MARKER = '…';

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

/** One limit exceeded: where (`blocks[0].text.text`), by how much, and which limit. */
export interface SlackLimitProblem {
  path: string;
  message: string;
}

/**
 * Walks a Slack request (`text`, `blocks`) against `SLACK_LIMITS`. With `fit`, returns a copy
 * cut to fit (text with `CUT_MARKER`, lists shortened, blocks past the limit replaced by one
 * context block saying how many were left out); the problems say what was cut.
 */
export function checkSlackLimits(request: Obj, fit: boolean): { request: Obj; problems: SlackLimitProblem[] } {
  const problems: SlackLimitProblem[] = [];
  const out: Obj = { ...request };
  const text = (value: unknown, path: string, max: number, what: string, mrkdwn: boolean): unknown => {
    if (typeof value !== 'string' || value.length <= max) return value;
    problems.push({ path, message: `${value.length} characters, over Slack's limit of ${max} for ${what}` });
    return fit ? cutText(value, max, mrkdwn) : value;
  };
  const textObject = (value: unknown, path: string, max: number, what: string): unknown => {
    if (!isObj(value)) return value;
    return { ...value, text: text(value.text, `${path}.text`, max, what, value.type === 'mrkdwn') };
  };
  const list = (value: unknown, path: string, max: number, what: string): unknown[] | undefined => {
    if (!Array.isArray(value)) return undefined;
    if (value.length <= max) return value;
    problems.push({ path, message: `${value.length} ${what}, over Slack's limit of ${max}` });
    return fit ? value.slice(0, max) : value;
  };
  out.text = text(request.text, 'text', SLACK_LIMITS.messageText, 'message text', true);
  if (out.text === undefined) delete out.text;
  if (Array.isArray(request.blocks)) {
    let blocks: unknown[] = request.blocks;
    if (blocks.length > SLACK_LIMITS.blocks) {
      problems.push({ path: 'blocks', message: `${blocks.length} blocks, over Slack's limit of ${SLACK_LIMITS.blocks}` });
      if (fit) {
        const left = blocks.length - (SLACK_LIMITS.blocks - 1);
        const note = { type: 'context', elements: [{ type: 'plain_text', text: `${CUT_MARKER} ${left} more blocks not shown` }] };
        blocks = [...blocks.slice(0, SLACK_LIMITS.blocks - 1), note];
      }
    }
    out.blocks = blocks.map((block, i) => fitBlock(block, `blocks[${i}]`, text, textObject, list));
  }
  return { request: fit ? out : request, problems };
}

function fitBlock(
  block: unknown,
  at: string,
  text: (v: unknown, path: string, max: number, what: string, mrkdwn: boolean) => unknown,
  textObject: (v: unknown, path: string, max: number, what: string) => unknown,
  list: (v: unknown, path: string, max: number, what: string) => unknown[] | undefined,
): unknown {
  if (!isObj(block)) return block;
  const b: Obj = { ...block };
  switch (block.type) {
    case 'section': {
      b.text = textObject(block.text, `${at}.text`, SLACK_LIMITS.textObject, 'section text');
      const fields = list(block.fields, `${at}.fields`, SLACK_LIMITS.sectionFields, 'section fields');
      if (fields) b.fields = fields.map((f, i) => textObject(f, `${at}.fields[${i}]`, SLACK_LIMITS.sectionField, 'a section field'));
      break;
    }
    case 'header':
      b.text = textObject(block.text, `${at}.text`, SLACK_LIMITS.headerText, 'header text');
      break;
    case 'context': {
      const elements = list(block.elements, `${at}.elements`, SLACK_LIMITS.contextElements, 'context elements');
      if (elements) {
        b.elements = elements.map((e, i) =>
          isObj(e) && (e.type === 'mrkdwn' || e.type === 'plain_text') ? textObject(e, `${at}.elements[${i}]`, SLACK_LIMITS.textObject, 'a text object') : e,
        );
      }
      break;
    }
    case 'image':
      b.alt_text = text(block.alt_text, `${at}.alt_text`, SLACK_LIMITS.altText, 'image alt_text', false);
      if (block.title !== undefined) b.title = textObject(block.title, `${at}.title`, SLACK_LIMITS.altText, 'an image title');
      break;
    case 'markdown':
      b.text = text(block.text, `${at}.text`, SLACK_LIMITS.markdownBlock, 'a markdown block', true);
      break;
  }
  for (const key of Object.keys(b)) if (b[key] === undefined) delete b[key];
  return b;
}
