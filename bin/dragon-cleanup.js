#!/usr/bin/env node
// Shim: the command is src/commands/cleanup.ts (see src/runtime/cli/oclif-config.ts for why loadOptions).
import '../dist/src/runtime/core/no-inspector.js'; // first: SIGUSR1/SIGUSR2 never open the inspector
import { execute } from '@oclif/core/execute';
import { loadOptions } from '../dist/src/runtime/cli/oclif-config.js';
await execute({ loadOptions: loadOptions('dragon-cleanup') });
