export * from '../../src/demo/fake-http.js';
