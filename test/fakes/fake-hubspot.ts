export * from '../../src/demo/fake-hubspot.js';
