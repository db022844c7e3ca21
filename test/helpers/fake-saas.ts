import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakeHubspot, type FakeHubspot } from '../fakes/fake-hubspot.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fake-slack.js';

export interface FakeSaas {
  slack: FakeSlack;
  hubspot: FakeHubspot;
}

/**
 * A fake Slack and a fake HubSpot for the tests of the enclosing `describe` (or file): started
 * before them, emptied before each, closed after. With tokens, any other token is refused.
 * Read them through the returned object once tests run.
 */
export function useFakeSaas(tokens: { slack?: string; hubspot?: string } = {}): FakeSaas {
  const fakes = {} as FakeSaas;
  beforeAll(async () => {
    fakes.slack = await startFakeSlack({ token: tokens.slack });
    fakes.hubspot = await startFakeHubspot({ token: tokens.hubspot });
  });
  beforeEach(() => {
    fakes.slack.reset();
    fakes.hubspot.reset();
  });
  afterAll(async () => {
    await fakes.slack.close();
    await fakes.hubspot.close();
  });
  return fakes;
}

/**
 * A fake Slack accepting these tokens, for the tests of the enclosing `describe` (or file):
 * started before them, emptied (and every revoked token restored) before each, closed after.
 */
export function useFakeSlack(tokens: string[]): { slack: FakeSlack } {
  const fakes = {} as { slack: FakeSlack };
  beforeAll(async () => {
    fakes.slack = await startFakeSlack({ tokens });
  });
  beforeEach(() => fakes.slack.reset());
  afterAll(() => fakes.slack.close());
  return fakes;
}
