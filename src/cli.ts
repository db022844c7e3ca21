#!/usr/bin/env node
import { holdSignalsForServe } from './commands/early-signals.js';

// First, before the program's modules load (a few hundred ms): a SIGHUP, SIGTERM or SIGINT
// that reaches `serve` while it starts is kept for it, instead of killing it half-started.
holdSignalsForServe(process.argv);
await import('./commands/main.js');
