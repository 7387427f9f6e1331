import type { CommandModule } from '../program.js';
import { checkCommand } from './check.js';
import { inspectCommand } from './inspect.js';
import { diskCommand } from './disk.js';
import { kernelCommand } from './kernel.js';
import { xapiCommand } from './xapi.js';
import { labCommand } from './lab.js';
import { cacheCommand } from './cache.js';

/**
 * Every `xenkit` command, in help order. A command is one file under commands/ exporting a
 * {@link CommandModule}; add it here to make it reachable.
 */
export const commands: CommandModule[] = [
  checkCommand,
  inspectCommand,
  diskCommand,
  kernelCommand,
  xapiCommand,
  labCommand,
  cacheCommand,
];
