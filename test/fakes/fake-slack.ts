export * from '../../testing/fakes/fake-slack.js';
