export * from '../../src/demo/fake-server.js';
