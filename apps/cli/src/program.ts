import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '@xenkit/core';
import { LOG_LEVELS, type CliContext, type GlobalOptions } from './context.js';
import { VERSION } from './version.js';

/** A command file's export: builds its commander `Command`, whose action calls library code. */
export type CommandModule = (ctx: CliContext) => Command;

const EXAMPLES = `
Examples:
  $ xenkit check disk.qcow2                 check an image against every OpenStack/Xen requirement
  $ xenkit check --root /mnt/image --json   check an unpacked root tree, JSON for scripts
  $ xenkit disk disk.vhd                    partitions, LVM and filesystems of an image
  $ xenkit kernel /boot/vmlinuz-2.6.18-xen  can Xen boot this kernel paravirtualised?
  $ xenkit lab                              start the embedded XenServer lab host
  $ xenkit xapi vms                         list VMs (XENKIT_URL, XENKIT_USER, XENKIT_PASSWORD)

Exit status: 0 success, 1 checks or operation failed, 2 usage or input error.`;

/**
 * A fresh program per call: commander keeps parse state on the Command, so tests and repeated
 * invocations must never share one.
 */
export function createProgram(ctx: CliContext, modules: CommandModule[]): Command {
  const program = new Command('xenkit')
    .description('Check and fix Linux images for OpenStack on XenServer/XCP-ng, and drive XenServer through XenAPI.')
    .version(VERSION, '-V, --version', 'print the xenkit version')
    .option('--json', 'print results as JSON on stdout', false)
    .addOption(
      new Option('--log-level <level>', 'log level for stderr').choices([...LOG_LEVELS]).default('warn'),
    )
    .option('-q, --quiet', 'log errors only', false)
    .option('--no-color', 'plain output without ANSI colours')
    .addHelpText('after', EXAMPLES)
    .enablePositionalOptions(false);

  program.hook('preAction', (_root, action) => {
    const opts = action.optsWithGlobals() as GlobalOptions;
    ctx.globals = {
      json: Boolean(opts.json),
      logLevel: opts.logLevel,
      quiet: Boolean(opts.quiet),
      color: opts.color !== false && Boolean(ctx.stdout.isTTY) && ctx.env.NO_COLOR === undefined,
    };
    ctx.logger = ctx.makeLogger(ctx.globals);
  });

  for (const make of modules) program.addCommand(make(ctx));
  configureTree(program, ctx);
  return program;
}

// addCommand() does not copy settings to subcommands, so apply them to the whole tree.
function configureTree(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => ctx.stdout.write(s),
    writeErr: (s) => ctx.stderr.write(s),
    // Usage errors are reported by run() with their code, like every other error.
    outputError: () => undefined,
  });
  for (const sub of cmd.commands) configureTree(sub, ctx);
}

/** Commander signals help/version with an error; everything else it throws is a usage error. */
export function fromCommanderError(error: CommanderError): UsageError | null {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return null;
  if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return null;
  const message = error.message.replace(/^error: /, '');
  return new UsageError('E_USAGE', `${message} (see xenkit --help)`, { details: { commander: error.code } });
}
