export * from '../../testing/fakes/fake-http.js';
