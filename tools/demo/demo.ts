import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { StatusReport } from '../../src/project/queries.js';
import { startFakeHubspot } from '../../testing/fakes/fake-hubspot.js';
import { startFakeSlack } from '../../testing/fakes/fake-slack.js';
import { childEnv, freePort, ROOT, runCli, startRelayChild, waitFor, type RelayChild } from '../../testing/child.js';
import { showChannel, showHubspot, showSlack } from './show.js';
import { count } from '../../src/count.js';

/**
 * `npm run demo`: the real relay (`node dist/cli.js serve`) between a local fake Slack and a
 * local fake HubSpot, fed the sample call signed as HuskyVoice signs it. Midway Slack revokes
 * the bot token: the relay pauses the sink instead of killing its deliveries, alerts #relay-ops
 * (the example's ops-alerts rule, on its own token) and shows PAUSED; the token is restored and
 * `husky-relay resume slack` lets everything through. Prints what each fake received, then
 * `husky-relay status`, and cleans up. Exits 0 only when every delivery succeeded and none is
 * dead. `--keep` keeps the database.
 */

const EVENTS = ['call.initiated', 'call.answered', 'call.completed', 'call.failed', 'call.disallowed'];
const SLACK_TOKEN = 'xoxb-demo-token';
const SLACK_OPS_TOKEN = 'xoxb-demo-ops-token';
const HUBSPOT_TOKEN = 'pat-demo-token';
const SETTLE_TIMEOUT_MS = 60_000;

const keep = process.argv.includes('--keep');
const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const say = (...lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);
const heading = (s: string) => say('', bold(s), '');
const indent = (lines: string[]) => lines.map((line) => (line ? `  ${line}` : ''));

const dir = mkdtempSync(join(tmpdir(), 'husky-relay-demo-'));
const dbPath = join(dir, 'husky-relay.db');
const relayLog = join(dir, 'relay.log');
const rulesPath = join(ROOT, 'rules.example.yaml');
const slack = await startFakeSlack({ tokens: [SLACK_TOKEN, SLACK_OPS_TOKEN] });
const hubspot = await startFakeHubspot({ token: HUBSPOT_TOKEN });
let relay: RelayChild | undefined;

async function cleanUp(): Promise<void> {
  const code = await relay?.stop();
  await Promise.all([slack.close(), hubspot.close()]);
  if (keep) {
    say('', `Kept ${dir} (database, relay.log). Try: HUSKY_RELAY_DB=${dbPath} node dist/cli.js log`);
    say(`Browse the demo's calls in the web console: HUSKY_RELAY_DB=${dbPath} node dist/cli.js serve --port 3000, then open http://127.0.0.1:3000/ui/ with the token in ${join(dir, 'ui-token')}`);
  }
  else rmSync(dir, { recursive: true, force: true });
  say(dim(`Stopped the relay (exit ${code ?? '-'}) and both fakes${keep ? '' : `; removed ${dir}`}.`));
}

process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

try {
  process.exitCode = await demo();
} catch (error) {
  process.stderr.write(`\ndemo failed: ${(error as Error).message}\n`);
  try {
    process.stderr.write(`\nlast lines of the relay's output:\n${readFileSync(relayLog, 'utf8').split('\n').slice(-20).join('\n')}\n`);
  } catch {
    // the relay never started
  }
  process.exitCode = 2;
} finally {
  await cleanUp();
}

async function demo(): Promise<number> {
  const contactId = hubspot.seedContact({ email: 'dana@example.com', phone: '+14155550123', firstname: 'Dana' });
  const port = await freePort();
  const env = childEnv({
    HUSKY_WEBHOOK_SECRET: `hsk_demo_${randomBytes(18).toString('base64url')}`,
    HUSKY_RELAY_DB: dbPath,
    HUSKY_RELAY_RULES: rulesPath,
    PORT: String(port),
    SLACK_API_URL: slack.url,
    HUBSPOT_BASE_URL: hubspot.url,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_OPS_TOKEN: SLACK_OPS_TOKEN,
    HUBSPOT_ACCESS_TOKEN: HUBSPOT_TOKEN,
    LOG_LEVEL: 'info',
  });

  say(bold('husky-relay demo: the real relay between a fake Slack and a fake HubSpot, all on this machine'), '');
  say(`  fake Slack     ${slack.url}  (accepts only the tokens ${SLACK_TOKEN} and, for #relay-ops, ${SLACK_OPS_TOKEN})`);
  say(`  fake HubSpot   ${hubspot.url}  (accepts only ${HUBSPOT_TOKEN}; contact ${contactId}: dana@example.com, +14155550123)`);
  relay = await startRelayChild({ port, env, logFile: relayLog });
  say(`  relay          ${relay.url}  node dist/cli.js serve, rules ${relative(ROOT, rulesPath)}, log ${dbPath}`);
  say(`  web console    ${relay.url}/ui/  (sign in with the token in ${join(dir, 'ui-token')}; \`npm run demo -- --keep\` to browse it afterwards)`);
  say(dim('                 (a fresh HUSKY_WEBHOOK_SECRET, SLACK_API_URL and HUBSPOT_BASE_URL point it at the fakes)'));

  heading('1. HuskyVoice calls the webhook: the sample events, signed like the curl example of its docs');
  const send = async (event: string, note = '') => {
    const file = join('examples', 'events', `${event}.json`);
    const result = await runCli(['send', file], env);
    say(`  $ husky-relay send ${file}${note}`, `    → ${(result.stdout || result.stderr).trim()}`);
  };
  const first = join('examples', 'events', `${EVENTS[0]}.json`);
  const signature = (await runCli(['sign', first], env)).stdout.trim();
  say(dim(`  Each file is POSTed as is, with X-Husky-Signature: the HMAC-SHA256 of its bytes under the secret`));
  say(dim(`  (what \`openssl dgst -sha256 -hmac "$SECRET"\` prints; \`husky-relay sign ${first}\` → ${signature.slice(0, 16)}…)`), '');
  for (const event of EVENTS) {
    await send(event);
    // mid-run, once the first call's thread is in Slack, Slack revokes the bot token
    if (event === 'call.answered') await revoke();
  }
  await send('call.completed', dim('   # HuskyVoice retries: same event_id'));
  const forged = await fetch(`${relay.url}/webhooks/husky`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-husky-signature': '0'.repeat(64) },
    body: readFileSync(join(ROOT, 'examples', 'events', 'call.completed.json')),
  });
  say(`  a request signed with the wrong secret`, `    → ${forged.status} ${await forged.text()}`);

  heading('2. The relay pauses Slack instead of killing its deliveries, and tells #relay-ops');
  if (!(await pausedAndResumed(env))) return 1;

  heading('3. The relay delivers the rest in the background (Slack is rate-limited to 1 message/s by the rules)');
  const status = await settle(env);
  if (!status) {
    say(`  not settled after ${SETTLE_TIMEOUT_MS / 1000} s; what the sinks got so far follows`);
  }

  heading('4. What the fake Slack received');
  say(...indent(showSlack(slack)));

  heading('5. What the fake HubSpot received');
  say(...indent(showHubspot(hubspot)));

  heading('6. $ husky-relay status');
  const report = await runCli(['status'], env);
  say(...indent((report.stdout + report.stderr).trimEnd().split('\n')));
  if (status && status.deliveries.dead > 0) {
    const dead = await runCli(['deliveries', '--status', 'dead'], env);
    say('', '  $ husky-relay deliveries --status dead', ...indent(dead.stdout.trimEnd().split('\n')));
  }
  say('');
  if (!status) return 1;
  const paused = Object.entries(status.sinks).filter(([, s]) => s.paused);
  if (paused.length > 0) say(`  still paused: ${paused.map(([name]) => name).join(', ')}`);
  return status.deliveries.dead > 0 || paused.length > 0 ? 1 : 0;
}

/** Once the first message is in Slack, Slack revokes the bot token (an admin removed the app). */
async function revoke(): Promise<void> {
  await waitFor(async () => (slack.messages.length > 0 ? true : undefined), SETTLE_TIMEOUT_MS, 100);
  slack.revoke(SLACK_TOKEN);
  say(bold(`  ⚠ Slack revokes the bot token now (an admin removed the app): ${slack.messages.length} message(s) are in Slack`));
}

/**
 * Shows the relay pausing the Slack sink after the revoked token, the alert it posts to
 * #relay-ops and `status` PAUSED; then the token works again and `husky-relay resume slack`
 * lets the waiting deliveries go. False if the pause never showed or resume failed.
 */
async function pausedAndResumed(env: NodeJS.ProcessEnv): Promise<boolean> {
  const ops = () => slack.messages.filter((m) => m.channel === slack.channelId('#relay-ops'));
  const paused = await waitFor(async () => {
    const report = JSON.parse((await runCli(['status', '--json'], env)).stdout) as StatusReport;
    return report.sinks['slack']?.paused && ops().length > 0 ? report : undefined;
  }, SETTLE_TIMEOUT_MS, 500);
  if (!paused) {
    say('  the Slack sink did not pause');
    return false;
  }
  const waiting = paused.sinks['slack']!;
  say(`  ${waiting.pending} Slack deliveries wait as pending; dead: ${paused.deliveries.dead}`, '', '  What the fake Slack got in #relay-ops (the ops-alerts rule, on its own token):');
  say(...indent(showChannel(slack, '#relay-ops')));
  say('', '  $ husky-relay status');
  const report = await runCli(['status'], env);
  say(...indent(indent((report.stdout + report.stderr).trimEnd().split('\n'))));

  say('', dim('  The token works again (the app is reinstalled); the operator resumes the sink:'));
  slack.restore(SLACK_TOKEN);
  const resumed = await runCli(['resume', 'slack'], env);
  say('  $ husky-relay resume slack', `    → ${(resumed.stdout || resumed.stderr).trim()}`, '');
  return resumed.code === 0;
}

/** Polls `status --json` until nothing is pending or retrying twice in a row, at most a minute. */
async function settle(env: NodeJS.ProcessEnv): Promise<StatusReport | undefined> {
  const started = Date.now();
  let previous: StatusReport | undefined;
  const final = await waitFor(async () => {
    const result = await runCli(['status', '--json'], env);
    if (result.code !== 0) throw new Error(`husky-relay status --json failed: ${result.stderr}`);
    const report = JSON.parse(result.stdout) as StatusReport;
    const d = report.deliveries;
    const total = d.pending + d.retrying + d.succeeded + d.dead;
    const line = `  ${((Date.now() - started) / 1000).toFixed(1)} s: ${d.succeeded + d.dead} of ${count(total, 'delivery', 'deliveries')} done (${d.succeeded} succeeded, ${d.dead} dead, ${d.pending} pending, ${d.retrying} retrying)`;
    if (tty) process.stdout.write(`\r${line}`);
    const quiet = total > 0 && d.pending + d.retrying === 0;
    const stable = quiet && previous?.last_seq === report.last_seq;
    previous = report;
    if (stable && !tty) say(line);
    return stable ? report : undefined;
  }, SETTLE_TIMEOUT_MS, 500);
  if (tty) say('');
  return final;
}
