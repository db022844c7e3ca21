/**
 * Slack's limits on a message, measured on what Slack receives (after mrkdwn escaping: `&`
 * counts as the 5 characters of `&amp;`). Over any of them Slack answers `invalid_blocks`
 * (`msg_too_long` for message text). Sources:
 * - chat.postMessage, https://api.slack.com/methods/chat.postMessage: `text` "should" stay within
 *   4,000 characters; Slack cuts at 40,000, longer answers `msg_too_long`.
 * - Blocks, https://api.slack.com/reference/block-kit/blocks: 50 blocks per message; `block_id`
 *   255; section `text` 3,000, `fields` 10 of 2,000 each; header `text` 150; context 10
 *   elements; image `image_url` 3,000, `alt_text` 2,000, `title` 2,000; actions 25 elements;
 *   markdown `text` 12,000; input `label` and `hint` 2,000.
 * - Elements, https://api.slack.com/reference/block-kit/block-elements: `action_id` 255; button
 *   `text` 75, `url` 3,000, `value` 2,000, `accessibility_label` 75; `placeholder` 150; select
 *   menus 100 `options` or `option_groups`; overflow 5 options; checkboxes and radio buttons 10.
 * - Composition objects, https://api.slack.com/reference/block-kit/composition-objects: text
 *   object `text` 3,000; option `text` 75, `value` 150, `description` 75, `url` 3,000; option
 *   group `label` 75; confirm `title` 100, `text` 300, `confirm` 30, `deny` 30.
 * Lengths are JavaScript string lengths (UTF-16 code units), never fewer than Slack counts.
 */
export const SLACK_LIMITS = {
  /** Message `text`: Slack cuts it here. (Default: 40,000) */
  messageText: 40_000,
  /** Message `text` Slack advises at most; longer is warned about, not cut. (Default: 4,000) */
  messageTextAdvised: 4_000,
  /** Blocks in one message. (Default: 50) */
  blocks: 50,
  /** `block_id` and `action_id`. (Default: 255) */
  id: 255,
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
  /** Elements of an actions block. (Default: 25) */
  actionsElements: 25,
  /** An image's `alt_text` and `title`; an input's `label` and `hint`. (Default: 2,000) */
  altText: 2_000,
  /** Any URL: an image's `image_url`, a button's or an option's `url`. (Default: 3,000) */
  url: 3_000,
  /** A markdown block's `text`. (Default: 12,000) */
  markdownBlock: 12_000,
  /** A button's `text` and `accessibility_label`. (Default: 75) */
  buttonText: 75,
  /** A button's `value`. (Default: 2,000) */
  buttonValue: 2_000,
  /** An element's `placeholder`. (Default: 150) */
  placeholder: 150,
  /** An option's `text` and `description`, an option group's `label`. (Default: 75) */
  optionText: 75,
  /** An option's `value`. (Default: 150) */
  optionValue: 150,
  /** Options (or option groups) of a select menu. (Default: 100) */
  options: 100,
  /** Options of an overflow menu. (Default: 5) */
  overflowOptions: 5,
  /** Options of checkboxes and radio buttons. (Default: 10) */
  choiceOptions: 10,
  /** A confirm dialog's `title`, `text`, `confirm`, `deny`. */
  confirm: { title: 100, text: 300, confirm: 30, deny: 30 },
} as const;

/** What the relay puts where it cut text: visible to readers, one character. */
export const CUT_MARKER = '…';

/**
 * Where a limit applies and how it is kept:
 * - `text`: a string the relay may cut (with `CUT_MARKER`; mrkdwn-safe when `mrkdwn`);
 * - `textObject`: `{type, text}`, its `text` cut as mrkdwn when `type` is `mrkdwn`;
 * - `fixed`: a string that cannot be cut without changing what it means (a URL, an id, a value
 *   a handler reads): over its limit the request cannot be sent;
 * - `list`: at most `max` items; with `more`, the relay keeps `max - 1` and puts `more(n)` last
 *   (a visible "… n more"), else over it the request cannot be sent (buttons, options);
 * - `object` with the specs of its keys; `element`: by the element's own `type`.
 */
export type Spec =
  | { t: 'text'; max: number; what: string; mrkdwn?: boolean }
  | { t: 'textObject'; max: number; what: string }
  | { t: 'fixed'; max: number; what: string }
  | { t: 'list'; max: number; what: string; item: Spec; more?: (left: number) => unknown }
  | { t: 'object'; keys: Record<string, Spec> }
  | { t: 'element' };

const L = SLACK_LIMITS;
const textObject = (max: number, what: string): Spec => ({ t: 'textObject', max, what });
const fixed = (max: number, what: string): Spec => ({ t: 'fixed', max, what });
const element: Spec = { t: 'element' };
const moreText = (what: string) => (left: number) => ({ type: 'mrkdwn', text: `${CUT_MARKER} ${left} more ${what} not shown` });

const CONFIRM: Spec = {
  t: 'object',
  keys: {
    title: textObject(L.confirm.title, 'a confirm title'),
    text: textObject(L.confirm.text, 'a confirm text'),
    confirm: textObject(L.confirm.confirm, 'a confirm button'),
    deny: textObject(L.confirm.deny, 'a deny button'),
  },
};
const OPTION: Spec = {
  t: 'object',
  keys: {
    text: textObject(L.optionText, 'option text'),
    value: fixed(L.optionValue, 'an option value'),
    description: textObject(L.optionText, 'an option description'),
    url: fixed(L.url, 'an option url'),
  },
};
const options = (max: number): Spec => ({ t: 'list', max, what: 'options', item: OPTION });
const GROUP: Spec = { t: 'object', keys: { label: textObject(L.optionText, 'an option group label'), options: options(L.options) } };

/** The keys every element may have, whatever its type. */
const ELEMENT_KEYS: Record<string, Spec> = {
  action_id: fixed(L.id, 'an action_id'),
  placeholder: textObject(L.placeholder, 'a placeholder'),
  confirm: CONFIRM,
  options: options(L.options),
  option_groups: { t: 'list', max: L.options, what: 'option groups', item: GROUP },
  initial_option: OPTION,
  initial_options: options(L.options),
};

/** Element types with keys or limits of their own (an element of another type gets `ELEMENT_KEYS`). */
export const ELEMENTS: Record<string, Record<string, Spec>> = {
  button: {
    text: textObject(L.buttonText, 'button text'),
    url: fixed(L.url, 'a button url'),
    value: fixed(L.buttonValue, 'a button value'),
    accessibility_label: { t: 'text', max: L.buttonText, what: 'a button accessibility_label' },
  },
  image: { image_url: fixed(L.url, 'an image url'), alt_text: { t: 'text', max: L.altText, what: 'image alt_text' } },
  overflow: { options: options(L.overflowOptions) },
  checkboxes: { options: options(L.choiceOptions), initial_options: options(L.choiceOptions) },
  radio_buttons: { options: options(L.choiceOptions) },
};

/** The keys of each block type the relay knows limits of (every block also has `block_id`). */
export const BLOCKS: Record<string, Record<string, Spec>> = {
  section: {
    text: textObject(L.textObject, 'section text'),
    fields: { t: 'list', max: L.sectionFields, what: 'section fields', item: textObject(L.sectionField, 'a section field'), more: moreText('fields') },
    accessory: element,
  },
  header: { text: textObject(L.headerText, 'header text') },
  context: { elements: { t: 'list', max: L.contextElements, what: 'context elements', item: element, more: moreText('elements') } },
  image: { image_url: fixed(L.url, 'an image url'), alt_text: { t: 'text', max: L.altText, what: 'image alt_text' }, title: textObject(L.altText, 'an image title') },
  actions: { elements: { t: 'list', max: L.actionsElements, what: 'actions elements', item: element } },
  markdown: { text: { t: 'text', max: L.markdownBlock, what: 'a markdown block', mrkdwn: true } },
  input: { label: textObject(L.altText, 'an input label'), hint: textObject(L.altText, 'an input hint'), element },
};

export const BLOCK_ID: Spec = fixed(L.id, 'a block_id');
export { ELEMENT_KEYS };
