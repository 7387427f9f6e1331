import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { PYGRUB_CONFIGS, pygrubEntry, pygrubNothingReason } from '../boot/find.js';
import { parseGrubenv } from '../boot/grub2.js';
import { evalShellAssignments, listDir, readText } from '../text.js';
import type { Check } from './types.js';

const WANT = ['console=tty0', 'console=ttyS0,115200n8'];

/** GRUB_CMDLINE_LINUX and _DEFAULT from /etc/default/grub and /etc/default/grub.d/*.cfg (sourced after it). */
async function grubDefaults(fs: ReadOnlyFileSystem): Promise<{ files: string[]; cmdline: string } | null> {
  const files = ['/etc/default/grub', ...(await listDir(fs, '/etc/default/grub.d')).filter((n) => n.endsWith('.cfg')).map((n) => `/etc/default/grub.d/${n}`)];
  const vars = new Map<string, string>();
  const read: string[] = [];
  for (const f of files) {
    const t = await readText(fs, f);
    if (t === null) continue;
    read.push(f);
    evalShellAssignments(t, vars);
  }
  if (read.length === 0) return null;
  return { files: read, cmdline: `${vars.get('GRUB_CMDLINE_LINUX') ?? ''} ${vars.get('GRUB_CMDLINE_LINUX_DEFAULT') ?? ''}`.trim() };
}

/** BLS: /etc/kernel/cmdline when present (kernel-install uses it), else grubenv's kernelopts. */
async function blsDefaults(fs: ReadOnlyFileSystem, configFile: string): Promise<{ files: string[]; cmdline: string } | null> {
  const cmdline = await readText(fs, '/etc/kernel/cmdline');
  if (cmdline !== null) return { files: ['/etc/kernel/cmdline'], cmdline: cmdline.trim() };
  const envFile = `${configFile.slice(0, configFile.lastIndexOf('/'))}/grubenv`;
  const kernelopts = parseGrubenv((await readText(fs, envFile)) ?? '').get('kernelopts');
  return kernelopts === undefined ? null : { files: [`${envFile} kernelopts`], cmdline: kernelopts };
}

function consoles(args: string): string[] {
  return args.split(/\s+/).filter((a) => a.startsWith('console='));
}

export const consoleLog: Check = {
  id: 'console-log',
  title: 'The kernel writes its boot log to ttyS0',
  requirement: 'Ensure image writes boot log to console',
  async run(ctx) {
    const boot = await ctx.boot();
    if (!boot) {
      return {
        status: 'fail',
        summary: 'no boot loader config found, so no kernel command line to check (pygrub could not boot this image either)',
        evidence: [`none of ${PYGRUB_CONFIGS.map((c) => c.path).join(', ')}`],
        fix: 'Install a boot loader (grub2) and generate its config with `update-grub` / `grub2-mkconfig -o /boot/grub2/grub.cfg`.',
      };
    }
    const { config } = boot;
    // A Xen PV boot runs pygrub's choice; grub's own (grubenv) default is what an HVM boot runs.
    const pv = pygrubEntry(config);
    const entry = pv ?? boot.entry;
    if (!entry) {
      return { status: 'fail', summary: `${config.file} has no boot entries`, evidence: [`${config.format} config ${config.file}`], fix: 'Regenerate the boot loader config (update-grub / grub2-mkconfig).' };
    }
    const args = entry.args;
    const have = consoles(args);
    const evidence = pv
      ? [`${config.file} (${config.format}): pygrub (Xen PV) boots entry ${config.pygrubIndex} "${entry.title}"`, `kernel ${entry.kernel ?? '?'} ${args}`]
      : [`${config.file} (${config.format}): default entry "${entry.title}" (${config.defaultReason})`, `kernel ${entry.kernel ?? '?'} ${args}`];
    let hvmWithout: string | undefined;
    if (!pv) {
      evidence.push(`pygrub (Xen PV) finds no entry in ${config.file}: ${pygrubNothingReason(config)}`);
    } else if (config.pygrubIndex !== config.defaultIndex && boot.entry) {
      const hvm = consoles(boot.entry.args);
      evidence.push(`grub (HVM boot) would boot entry ${config.defaultIndex} "${boot.entry.title}" instead (${config.defaultReason}): ${hvm.join(' ') || 'no console='}`);
      if (!hvm.some((c) => c.startsWith('console=ttyS0'))) hvmWithout = boot.entry.title;
    }
    const bls = config.format === 'grub2-bls';
    const fixGrub = bls
      ? 'Run `grubby --update-kernel=ALL --args="console=tty0 console=ttyS0,115200n8"`: it updates every BLS entry and the defaults new kernels get (/etc/kernel/cmdline, grubenv kernelopts).'
      : 'Set GRUB_CMDLINE_LINUX_DEFAULT="console=tty0 console=ttyS0,115200n8" in /etc/default/grub, then run update-grub (Debian/Ubuntu) or grub2-mkconfig -o /boot/grub2/grub.cfg (Fedora/RHEL/SUSE).';
    const isGrub = config.format === 'grub2' || bls;
    // Where the next kernel's command line comes from: for BLS, kernel-install's /etc/kernel/cmdline
    // (or grubenv kernelopts that entries reference); for classic grub.cfg, /etc/default/grub.
    const defaults = bls ? await blsDefaults(ctx.fs, config.file) : isGrub ? await grubDefaults(ctx.fs) : null;
    if (defaults) evidence.push(`${defaults.files.join(', ')}: ${consoles(defaults.cmdline).join(' ') || 'no console='}`);
    if (!have.some((c) => c.startsWith('console=ttyS0'))) {
      return { status: 'fail', summary: `the ${pv ? 'pygrub (PV) ' : 'default '}entry's command line has no console=ttyS0 (${have.join(' ') || 'no console= at all'})`, evidence, fix: isGrub ? fixGrub : `Append console=tty0 console=ttyS0,115200n8 to the default entry's kernel line in ${config.file}.` };
    }
    if (hvmWithout !== undefined) {
      return { status: 'warn', summary: `pygrub's entry has console=ttyS0, but grub's default "${hvmWithout}" (what an HVM boot runs) does not`, evidence, fix: `Make the default entry the one with console=ttyS0 (grub-set-default / GRUB_DEFAULT), or add console=ttyS0 to every entry; ${fixGrub}` };
    }
    if (isGrub && !(defaults && consoles(defaults.cmdline).some((c) => c.startsWith('console=ttyS0')))) {
      const source = bls ? '/etc/kernel/cmdline (or grubenv kernelopts)' : '/etc/default/grub';
      const next = bls ? 'the next kernel update installs entries without it' : 'the next update-grub drops it';
      return { status: 'warn', summary: `the boot entry has console=ttyS0, but ${source} does not, so ${next}`, evidence, fix: fixGrub };
    }
    const missing = WANT.filter((w) => !have.includes(w));
    if (missing.length > 0) {
      return { status: 'warn', summary: `console=ttyS0 is set, but not exactly as the guide asks (missing ${missing.join(' ')})`, evidence, fix: isGrub ? fixGrub : `Use console=tty0 console=ttyS0,115200n8 in ${config.file}.` };
    }
    return { status: 'pass', summary: 'the default entry passes console=tty0 console=ttyS0,115200n8', evidence, fix: '' };
  },
};
