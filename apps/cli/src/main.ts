#!/usr/bin/env node
import { runCli } from './run.js';
import { makeLogger } from './logging.js';

// No top-level await: the production bundle (build/bundle.mjs) is CommonJS. runCli never rejects.
void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  makeLogger: (options) => makeLogger(options),
}).then((status) => {
  // Let stdout drain before exiting: a large --json result piped to another program must arrive whole.
  process.exitCode = status;
});
