import { afterAll, beforeAll } from 'vitest';
import { startFakeHubspot, type FakeHubspot } from '../fakes/fake-hubspot.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';

/**
 * A fake Slack and a fake HubSpot (no token checks) for the tests of the enclosing `describe`:
 * started before them, closed after. Read them through the returned object once tests run.
 */
export function useFakeSaas(): { slack: FakeSlack; hubspot: FakeHubspot } {
  const fakes = {} as { slack: FakeSlack; hubspot: FakeHubspot };
  beforeAll(async () => {
    fakes.slack = await startFakeSlack();
    fakes.hubspot = await startFakeHubspot();
  });
  afterAll(async () => {
    await fakes.slack.close();
    await fakes.hubspot.close();
  });
  return fakes;
}
