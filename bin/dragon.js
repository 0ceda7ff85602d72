#!/usr/bin/env node
// Shim: the entry point is src/runtime/cli/main.ts (fast path, else the oclif command src/commands/dragon.ts).
import { main } from '../dist/src/runtime/cli/main.js';
await main();
