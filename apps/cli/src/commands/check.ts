import { Command } from 'commander';
import { UsageError, toXenkitError } from '@xenkit/core';
import type { CheckReport, CheckStatus } from '@xenkit/image-check';
import { emit, type Style } from '../context.js';
import type { CommandModule } from '../program.js';

interface CheckFlags {
  root?: string;
  junit?: string;
  only?: string;
  skip?: string;
  os?: string;
}

/**
 * The check ids for `--help`, spelled out so that defining the command never loads image-check
 * (check.test.ts keeps this equal to image-check's `checkIds()`).
 */
export const CHECK_IDS = ['auto-disk-config', 'resize-on-boot', 'mac-persistence', 'ssh-server', 'firewall', 'cloud-init', 'key-injection', 'console-log', 'pv-kernel'];

const ids = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

const MARK: Record<CheckStatus, (st: Style) => string> = {
  pass: (st) => st.green('✓'),
  fail: (st) => st.red('✗'),
  warn: (st) => st.yellow('!'),
  skip: (st) => st.dim('-'),
  error: (st) => st.red('?'),
};

export function renderCheck(r: CheckReport, st: Style): string {
  const os = r.os ? `${r.os.prettyName ?? r.os.productName ?? r.os.distro ?? 'Linux'} on ${r.os.root}` : 'no readable root filesystem';
  const lines = [st.bold(`xenkit check ${r.source.path}${r.source.format ? ` (${r.source.format})` : ''}: ${os}`), ''];
  const width = Math.max(...r.checks.map((c) => c.id.length));
  for (const c of r.checks) {
    lines.push(`  ${MARK[c.status](st)} ${c.id.padEnd(width)}  ${c.summary}`);
    if (c.status !== 'pass' && c.status !== 'skip') {
      for (const e of c.evidence.slice(0, 6)) lines.push(st.dim(`      ${e}`));
      if (c.fix) lines.push(`      ${st.bold('fix:')} ${c.fix}`);
    }
  }
  const props = Object.entries(r.properties);
  if (props.length > 0) lines.push('', `Glance properties: ${props.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (r.otherOperatingSystems.length > 0) lines.push(`Also on this disk (not checked; use --os): ${r.otherOperatingSystems.map((o) => `${o.root} ${o.prettyName ?? o.productName ?? o.distro ?? ''}`.trim()).join(', ')}`);
  const n = (s: CheckStatus) => r.checks.filter((c) => c.status === s).length;
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  const tally = [`${n('pass')} passed`, `${n('fail')} failed`, plural(n('warn'), 'warning'), ...(n('error') ? [plural(n('error'), 'error')] : []), ...(n('skip') ? [`${n('skip')} skipped`] : [])].join(', ');
  lines.push('', `${r.verdict === 'pass' ? st.green('PASS') : st.red('FAIL')}: ${tally}`);
  return lines.join('\n');
}

export const checkCommand: CommandModule = (ctx) =>
  new Command('check')
    .description('check an image (raw, qcow2, VHD) or a root tree against every OpenStack-on-Xen image requirement')
    .argument('[image]', 'disk image file')
    .option('--root <dir>', 'check an unpacked root directory tree instead of an image')
    .option('--junit <file>', 'also write the results as JUnit XML')
    .option('--only <ids>', `comma-separated checks to run (${CHECK_IDS.join(', ')})`)
    .option('--skip <ids>', 'comma-separated checks to leave out')
    .option('--os <root>', 'root device to check when the disk holds several operating systems')
    .action(async (image: string | undefined, flags: CheckFlags) => {
      if ((image === undefined) === (flags.root === undefined)) {
        throw new UsageError('E_USAGE', 'give an IMAGE or --root DIR (exactly one) (see xenkit check --help)');
      }
      const input = flags.root !== undefined ? { root: flags.root } : { image: image as string };
      // Loaded here, not at the top: every command is defined on each start, only this one runs.
      const { checkImage, checkJunit } = await import('@xenkit/image-check');
      const only = ids(flags.only);
      const skip = ids(flags.skip);
      const report = await checkImage(input, { ...(only ? { only } : {}), ...(skip ? { skip } : {}), ...(flags.os ? { osRoot: flags.os } : {}), logger: ctx.logger, syncReads: true });
      if (flags.junit) {
        // node:fs/promises (and the readline internals it loads) only for --junit: not on every start.
        const { writeFile } = await import('node:fs/promises');
        await writeFile(flags.junit, checkJunit(report)).catch((e: unknown) => Promise.reject(toXenkitError(e, { path: flags.junit })));
      }
      emit(ctx, report, renderCheck);
      if (report.verdict !== 'pass') ctx.exitCode = 1;
    });
