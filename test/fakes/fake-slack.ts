export * from '../../src/demo/fake-slack.js';
