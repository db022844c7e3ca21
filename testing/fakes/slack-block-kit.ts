/*
 * The fake Slack's own copy of Slack's documented message limits, written from Slack's pages
 * (not imported from the relay, so a wrong limit in the relay shows as a refused message):
 * - https://api.slack.com/methods/chat.postMessage (text: `msg_too_long` past 40,000)
 * - https://api.slack.com/reference/block-kit/blocks
 * - https://api.slack.com/reference/block-kit/block-elements
 * - https://api.slack.com/reference/block-kit/composition-objects
 * Slack answers `invalid_blocks` with `errors` like
 * `must be less than 3001 characters [json-pointer:/blocks/0/text/text]`.
 */

type Json = Record<string, unknown>;
const isJson = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Characters Slack allows in a field, by the page that documents it. */
const MAX = {
  messageText: 40_000,
  blocks: 50,
  blockId: 255,
  actionId: 255,
  textObject: 3_000,
  sectionText: 3_000,
  sectionFields: 10,
  sectionField: 2_000,
  headerText: 150,
  contextElements: 10,
  imageUrl: 3_000,
  imageAltText: 2_000,
  imageTitle: 2_000,
  actionsElements: 25,
  markdownText: 12_000,
  inputLabel: 2_000,
  inputHint: 2_000,
  buttonText: 75,
  buttonUrl: 3_000,
  buttonValue: 2_000,
  buttonAccessibilityLabel: 75,
  placeholder: 150,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  optionUrl: 3_000,
  optionGroupLabel: 75,
  selectOptions: 100,
  overflowOptions: 5,
  checkboxOptions: 10,
  radioOptions: 10,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
};

/** The `errors` Slack would give for this message's blocks (empty when it takes them). */
export function blockKitErrors(blocks: unknown): string[] {
  const errors: string[] = [];
  const chars = (value: unknown, max: number, pointer: string) => {
    if (typeof value === 'string' && value.length > max) errors.push(`must be less than ${max + 1} characters [json-pointer:${pointer}]`);
  };
  const items = (value: unknown, max: number, pointer: string): unknown[] => {
    if (!Array.isArray(value)) return [];
    if (value.length > max) errors.push(`must be less than ${max + 1} items [json-pointer:${pointer}]`);
    return value;
  };
  const text = (value: unknown, max: number, pointer: string) => {
    if (isJson(value)) chars(value['text'], max, `${pointer}/text`);
  };
  const confirm = (value: unknown, pointer: string) => {
    if (!isJson(value)) return;
    text(value['title'], MAX.confirmTitle, `${pointer}/title`);
    text(value['text'], MAX.confirmText, `${pointer}/text`);
    text(value['confirm'], MAX.confirmButton, `${pointer}/confirm`);
    text(value['deny'], MAX.confirmButton, `${pointer}/deny`);
  };
  const option = (value: unknown, pointer: string) => {
    if (!isJson(value)) return;
    text(value['text'], MAX.optionText, `${pointer}/text`);
    chars(value['value'], MAX.optionValue, `${pointer}/value`);
    text(value['description'], MAX.optionDescription, `${pointer}/description`);
    chars(value['url'], MAX.optionUrl, `${pointer}/url`);
  };
  const element = (value: unknown, pointer: string) => {
    if (!isJson(value)) return;
    const type = value['type'];
    if (type === 'mrkdwn' || type === 'plain_text') return chars(value['text'], MAX.textObject, `${pointer}/text`);
    if (type === 'image') {
      chars(value['image_url'], MAX.imageUrl, `${pointer}/image_url`);
      chars(value['alt_text'], MAX.imageAltText, `${pointer}/alt_text`);
      return;
    }
    chars(value['action_id'], MAX.actionId, `${pointer}/action_id`);
    text(value['placeholder'], MAX.placeholder, `${pointer}/placeholder`);
    confirm(value['confirm'], `${pointer}/confirm`);
    if (type === 'button') {
      text(value['text'], MAX.buttonText, `${pointer}/text`);
      chars(value['url'], MAX.buttonUrl, `${pointer}/url`);
      chars(value['value'], MAX.buttonValue, `${pointer}/value`);
      chars(value['accessibility_label'], MAX.buttonAccessibilityLabel, `${pointer}/accessibility_label`);
    }
    const most = type === 'overflow' ? MAX.overflowOptions : type === 'checkboxes' ? MAX.checkboxOptions : type === 'radio_buttons' ? MAX.radioOptions : MAX.selectOptions;
    items(value['options'], most, `${pointer}/options`).forEach((o, i) => option(o, `${pointer}/options/${i}`));
    items(value['option_groups'], MAX.selectOptions, `${pointer}/option_groups`).forEach((g, i) => {
      if (!isJson(g)) return;
      text(g['label'], MAX.optionGroupLabel, `${pointer}/option_groups/${i}/label`);
      items(g['options'], MAX.selectOptions, `${pointer}/option_groups/${i}/options`).forEach((o, j) => option(o, `${pointer}/option_groups/${i}/options/${j}`));
    });
    option(value['initial_option'], `${pointer}/initial_option`);
    items(value['initial_options'], most, `${pointer}/initial_options`).forEach((o, i) => option(o, `${pointer}/initial_options/${i}`));
  };

  items(blocks, MAX.blocks, '/blocks').forEach((block, b) => {
    if (!isJson(block)) return;
    const at = `/blocks/${b}`;
    chars(block['block_id'], MAX.blockId, `${at}/block_id`);
    switch (block['type']) {
      case 'section':
        text(block['text'], MAX.sectionText, `${at}/text`);
        items(block['fields'], MAX.sectionFields, `${at}/fields`).forEach((f, i) => text(f, MAX.sectionField, `${at}/fields/${i}`));
        element(block['accessory'], `${at}/accessory`);
        break;
      case 'header':
        text(block['text'], MAX.headerText, `${at}/text`);
        break;
      case 'context':
        items(block['elements'], MAX.contextElements, `${at}/elements`).forEach((e, i) => element(e, `${at}/elements/${i}`));
        break;
      case 'image':
        chars(block['image_url'], MAX.imageUrl, `${at}/image_url`);
        chars(block['alt_text'], MAX.imageAltText, `${at}/alt_text`);
        text(block['title'], MAX.imageTitle, `${at}/title`);
        break;
      case 'actions':
        items(block['elements'], MAX.actionsElements, `${at}/elements`).forEach((e, i) => element(e, `${at}/elements/${i}`));
        break;
      case 'markdown':
        chars(block['text'], MAX.markdownText, `${at}/text`);
        break;
      case 'input':
        text(block['label'], MAX.inputLabel, `${at}/label`);
        text(block['hint'], MAX.inputHint, `${at}/hint`);
        element(block['element'], `${at}/element`);
        break;
    }
  });
  return errors;
}

/** Whether Slack answers `msg_too_long` for this message text. */
export function messageTooLong(text: unknown): boolean {
  return typeof text === 'string' && text.length > MAX.messageText;
}
