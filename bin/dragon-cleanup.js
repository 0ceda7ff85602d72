#!/usr/bin/env node
// Shim: the command is src/commands/cleanup.ts (see src/runtime/cli/oclif-config.ts for why loadOptions).
import { execute } from '@oclif/core/execute';
import { loadOptions } from '../dist/src/runtime/cli/oclif-config.js';
await execute({ loadOptions: loadOptions('dragon-cleanup') });
