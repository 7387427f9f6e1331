import { pygrubEntry } from '../boot/find.js';
import { serviceState } from '../services.js';
import { isFile } from '../text.js';
import { readCloudConfig, type CloudConfig } from './cloud-config.js';
import type { CheckContext } from './types.js';

const UNITS = ['cloud-init.service', 'cloud-init-local.service', 'cloud-init-main.service', 'cloud-init-network.service', 'cloud-config.service', 'cloud-final.service', 'cloud-init.target'];
const SCRIPTS = ['cloud-init', 'cloud-init-local', 'cloud-config', 'cloud-final'];
const GENERATORS = ['/usr/lib/systemd/system-generators/cloud-init-generator', '/lib/systemd/system-generators/cloud-init-generator'];

/** Whether cloud-init will run at the instance's first boot, and why not. */
export interface CloudInitState {
  cfg: CloudConfig;
  /** Installed and nothing stops it: it runs at boot. */
  runs: boolean;
  /** When installed but not running: what stops it (one of the kinds below). */
  stopped?: { kind: 'disabled-file' | 'kernel-cmdline' | 'not-enabled'; summary: string; evidence: string; fix: string };
  /** Service/generator evidence lines. */
  evidence: string[];
}

/**
 * One verdict on cloud-init for every check (cloud-init, key-injection, resize-on-boot), so they
 * can never disagree: installed, not disabled by /etc/cloud/cloud-init.disabled or
 * `cloud-init=disabled` on the booted entry's command line, and started by an enabled service or
 * its systemd generator.
 */
export function cloudInitState(ctx: CheckContext): Promise<CloudInitState> {
  return ctx.memo('cloud-init-state', async () => {
    const fs = ctx.fs;
    const cfg = await ctx.memo('cloud-config', () => readCloudConfig(fs));
    const evidence: string[] = [];
    if (!cfg.installed) return { cfg, runs: false, evidence };
    if (await isFile(fs, '/etc/cloud/cloud-init.disabled')) {
      return { cfg, runs: false, evidence, stopped: { kind: 'disabled-file', summary: 'cloud-init is installed but disabled', evidence: '/etc/cloud/cloud-init.disabled exists', fix: 'Remove /etc/cloud/cloud-init.disabled.' } };
    }
    const boot = await ctx.boot();
    // Either boot path counts: pygrub's entry for PV, grub's default for HVM.
    const booted = boot ? [pygrubEntry(boot.config), boot.entry] : [];
    const off = booted.find((e) => e && /(^|\s)cloud-init=disabled(\s|$)/.test(e.args));
    if (boot && off) {
      return {
        cfg,
        runs: false,
        evidence,
        stopped: { kind: 'kernel-cmdline', summary: 'cloud-init is disabled on the kernel command line', evidence: `${boot.config.file}: "${off.title}" has cloud-init=disabled`, fix: 'Remove cloud-init=disabled from the kernel command line (and /etc/default/grub).' },
      };
    }
    const services = await serviceState(fs, UNITS, SCRIPTS);
    evidence.push(...services.evidence.filter((e) => e.includes('->') || e.includes('(')));
    // cloud-init ≥ 19 also starts from its systemd generator whenever cloud-init.target is wanted.
    let generator = false;
    for (const g of GENERATORS) if (await isFile(fs, g)) generator = true;
    if (generator) evidence.push('cloud-init-generator installed (enables cloud-init.target at boot)');
    if (!services.enabled && !generator) {
      return { cfg, runs: false, evidence, stopped: { kind: 'not-enabled', summary: 'cloud-init is installed but none of its services start at boot', evidence: 'no cloud-init service is enabled and no cloud-init-generator is installed', fix: 'Enable its services: `systemctl enable cloud-init-local cloud-init cloud-config cloud-final`.' } };
    }
    return { cfg, runs: true, evidence };
  });
}
