import type { CommandModule } from '../program.js';
import { diskCommand } from './disk.js';
import { kernelCommand } from './kernel.js';
import { labCommand } from './lab.js';
import { cacheCommand } from './cache.js';
import { cacheCommand } from './cache.js';
import { diskCommand } from './disk.js';
import { kernelCommand } from './kernel.js';
import { labCommand } from './lab.js';
import { xapiCommand } from './xapi.js';

/**
 * Every `xenkit` command, in help order. A command is one file under commands/ exporting a
 * {@link CommandModule}; add it here to make it reachable.
 */
export const commands: CommandModule[] = [
  diskCommand,
  kernelCommand,
  labCommand,
  cacheCommand,
];
export const commands: CommandModule[] = [diskCommand, kernelCommand, cacheCommand, labCommand, xapiCommand];
