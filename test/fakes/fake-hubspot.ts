export * from '../../testing/fakes/fake-hubspot.js';
