#!/usr/bin/env node
import { runCli } from './run.js';
import { makeLogger } from './logging.js';

const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  makeLogger: (options) => makeLogger(options),
});
// Let stdout drain before exiting: a large --json result piped to another program must arrive whole.
process.exitCode = status;
