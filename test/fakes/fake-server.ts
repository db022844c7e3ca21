export * from '../../testing/fakes/fake-server.js';
