export { runCli, type RunOptions } from './run.js';
export { createProgram, type CommandModule } from './program.js';
export { createContext, emit, makeStyle, type CliContext, type GlobalOptions, type Style } from './context.js';
export { VERSION } from './version.js';
