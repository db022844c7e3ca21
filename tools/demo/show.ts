import type { FakeHubspot } from '../../testing/fakes/fake-hubspot.js';
import type { FakeSlack, FakeSlackMessage } from '../../testing/fakes/fake-slack.js';

/**
 * Turns what the fakes recorded into lines a person reads. Everything shown here comes from
 * the fakes' memory of the requests the real SDKs made: nothing is canned.
 */

const INDENT = '    ';

/** Slack mrkdwn as the Slack client would show its text, on one line per line. */
function slackContent(version: { text?: string; blocks?: unknown }): string[] {
  if (Array.isArray(version.blocks)) {
    const lines: string[] = [];
    for (const block of version.blocks as Record<string, unknown>[]) {
      const text = (block['text'] as { text?: string } | undefined)?.text;
      if (text) lines.push(...text.split('\n'));
      for (const element of (block['elements'] as { text?: string }[] | undefined) ?? []) {
        if (element.text) lines.push(`(${element.text})`);
      }
    }
    return lines.length > 0 ? lines : [JSON.stringify(version.blocks)];
  }
  return (version.text ?? '').split('\n');
}

function indented(prefix: string, lines: string[]): string[] {
  const pad = ' '.repeat(prefix.length);
  return lines.map((line, i) => `${i === 0 ? prefix : pad}${line}`);
}

export function showSlack(slack: FakeSlack): string[] {
  const calls = new Map<string, number>();
  for (const r of slack.requests) calls.set(r.path.replace(/^\/api\//, ''), (calls.get(r.path.replace(/^\/api\//, '')) ?? 0) + 1);
  const out = [
    `${slack.messages.length} message(s) in Slack now; API calls received: ` +
      ([...calls].map(([method, n]) => `${method} ×${n}`).join(', ') || 'none'),
  ];
  const channels = [...new Set(slack.messages.map((m) => m.channel))];
  for (const channel of channels) {
    const [title, ...messages] = showChannel(slack, channel);
    out.push('', `  ${title}`, ...messages);
  }
  return out;
}

/** One channel (name or id): its name and id, then its messages with their threads. */
export function showChannel(slack: FakeSlack, channel: string): string[] {
  const id = slack.channelId(channel);
  const inChannel = slack.messages.filter((m) => m.channel === id);
  const out = [`${slack.channelName(id)} (${id})`];
  for (const parent of inChannel.filter((m) => m.thread_ts === undefined)) {
    out.push(...showMessage(parent));
    for (const reply of inChannel.filter((m) => m.thread_ts === parent.ts)) {
      out.push(...indented(`${INDENT}  ↳ reply ${reply.ts}${reply.reply_broadcast ? ' (also sent to channel)' : ''}: `, slackContent(reply)));
    }
  }
  return out;
}

function showMessage(m: FakeSlackMessage): string[] {
  if (m.edits === 0) return indented(`${INDENT}• ${m.ts}: `, slackContent(m));
  const out = [`${INDENT}• ${m.ts}, a live card edited ${m.edits} time(s) in place:`];
  m.versions.forEach((version, i) => {
    out.push(...indented(`${INDENT}    ${(i === 0 ? 'posted' : `edit ${i}`).padEnd(8)}`, slackContent(version)));
  });
  return out;
}

export function showHubspot(hubspot: FakeHubspot): string[] {
  const calls = new Map<string, number>();
  for (const r of hubspot.requests) {
    const route = `${r.method} ${r.path.replace(/\/\d+$/, '/{id}')}`;
    calls.set(route, (calls.get(route) ?? 0) + 1);
  }
  const out = [`requests received: ${[...calls].map(([route, n]) => `${route} ×${n}`).join(', ') || 'none'}`];
  for (const type of ['calls', 'notes'] as const) {
    for (const object of hubspot.objects[type].values()) {
      out.push('', `  ${type === 'calls' ? 'call' : 'note'} ${object.id}`);
      const width = Math.max(...Object.keys(object.properties).map((k) => k.length));
      for (const [key, value] of Object.entries(object.properties).sort(([a], [b]) => a.localeCompare(b))) {
        out.push(`${INDENT}${key.padEnd(width)}  ${value}`);
      }
      const links = hubspot.associations.filter((a) => a.fromType === type && a.fromId === object.id);
      for (const link of links) {
        const contact = hubspot.objects.contacts.get(link.toId);
        const who = contact ? [contact.properties['email'], contact.properties['phone']].filter(Boolean).join(', ') : 'unknown';
        out.push(`${INDENT}→ associated with contact ${link.toId} (${who}), association type ${link.associationTypeId}`);
      }
      if (links.length === 0) out.push(`${INDENT}→ not associated with any contact`);
    }
  }
  if (hubspot.objects.calls.size + hubspot.objects.notes.size === 0) out.push('  (no calls or notes created)');
  return out;
}
