import { silentLogger, type Logger } from '@xenkit/core';
import { openTarget, type CheckInput } from './api.js';
import { listApplications, type Application } from './apps/index.js';
import type { OsIdentity, SourceInfo } from './check.js';
import { ImageCheckInputError } from './errors.js';
import { findGuests } from './os/guest.js';
import { detectArch, detectHostname } from './os/root.js';
import { xmlEscape as esc } from './xml.js';

/** One operating system as virt-inspector describes it ("unknown" fields left out). */
export interface InspectedOs extends OsIdentity {
  name: 'linux';
  arch?: string;
  packageManagement?: string;
  hostname?: string;
  osinfo?: string;
  filesystems: { device: string; type?: string; label?: string; uuid?: string }[];
  /** Installed packages; null when the database is not one xenkit reads (rpm). */
  applications: Application[] | null;
}

export interface InspectReport {
  source: SourceInfo;
  operatingSystems: InspectedOs[];
}

/** virt-inspector's inventory of every Linux root on an image or tree, without an appliance. */
export async function inspectImage(input: CheckInput, options: { logger?: Logger; syncReads?: boolean } = {}): Promise<InspectReport> {
  const logger = options.logger ?? silentLogger;
  const target = await openTarget(input, { logger, syncReads: options.syncReads ?? false });
  try {
    const guests = await findGuests(target.volumes, logger);
    if (guests.length === 0) {
      throw new ImageCheckInputError('E_NO_OS', `${target.source.path}: no Linux root filesystem found (xenkit reads ext2/3/4 and xfs; volumes: ${target.volumes.map((v) => `${v.device} ${v.fsType ?? '?'}`).join(', ')})`, {
        path: target.source.path,
      });
    }
    const oses: InspectedOs[] = [];
    for (const g of guests) {
      const d = g.distro;
      const { arch } = await detectArch(g.fs);
      const hostname = await detectHostname(g.fs);
      const byDevice = new Map(target.volumes.map((v) => [v.device, v]));
      const devices = [...new Set(g.mounts.map((m) => m.device))];
      oses.push({
        root: g.root.device,
        name: 'linux',
        ...(arch ? { arch } : {}),
        ...(d.distro ? { distro: d.distro } : {}),
        ...(d.productName ? { productName: d.productName } : {}),
        ...(d.prettyName ? { prettyName: d.prettyName } : {}),
        majorVersion: d.majorVersion,
        minorVersion: d.minorVersion,
        ...(d.packageFormat ? { packageFormat: d.packageFormat } : {}),
        ...(d.packageManagement ? { packageManagement: d.packageManagement } : {}),
        ...(hostname ? { hostname } : {}),
        ...(d.osinfo ? { osinfo: d.osinfo } : {}),
        mountpoints: [...g.mounts].sort((a, b) => a.mountpoint.length - b.mountpoint.length).map((m) => ({ device: m.device, mountpoint: m.mountpoint })),
        filesystems: devices.map((dev) => {
          const v = byDevice.get(dev);
          return { device: dev, ...(v?.fsType ? { type: v.fsType } : {}), ...(v?.label ? { label: v.label } : {}), ...(v?.uuid ? { uuid: v.uuid } : {}) };
        }),
        applications: sortByName(await listApplications(g.fs, d.packageFormat)),
      });
    }
    return { source: target.bytesRead ? { ...target.source, bytesRead: target.bytesRead() } : target.source, operatingSystems: oses };
  } finally {
    await target.close();
  }
}


/** virt-inspector lists applications sorted by name. */
function sortByName(apps: Application[] | null): Application[] | null {
  return apps ? [...apps].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) : null;
}

/** The report in virt-inspector's XML schema (guestfs-tools inspector/virt-inspector.rng). */
export function inspectXml(report: InspectReport): string {
  const out: string[] = ['<?xml version="1.0"?>', '<operatingsystems>'];
  const el = (indent: string, name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') out.push(`${indent}<${name}>${esc(String(value))}</${name}>`);
  };
  for (const os of report.operatingSystems) {
    out.push('  <operatingsystem>');
    const i = '    ';
    el(i, 'root', os.root);
    el(i, 'name', os.name);
    el(i, 'arch', os.arch);
    el(i, 'distro', os.distro);
    el(i, 'product_name', os.productName);
    el(i, 'major_version', os.majorVersion);
    el(i, 'minor_version', os.minorVersion);
    el(i, 'package_format', os.packageFormat);
    el(i, 'package_management', os.packageManagement);
    el(i, 'hostname', os.hostname);
    el(i, 'osinfo', os.osinfo);
    out.push(`${i}<mountpoints>`);
    for (const m of os.mountpoints) out.push(`${i}  <mountpoint dev="${esc(m.device)}">${esc(m.mountpoint)}</mountpoint>`);
    out.push(`${i}</mountpoints>`);
    out.push(`${i}<filesystems>`);
    for (const f of os.filesystems) {
      out.push(`${i}  <filesystem dev="${esc(f.device)}">`);
      el(`${i}    `, 'type', f.type);
      el(`${i}    `, 'label', f.label);
      el(`${i}    `, 'uuid', f.uuid);
      out.push(`${i}  </filesystem>`);
    }
    out.push(`${i}</filesystems>`);
    if (os.applications) {
      out.push(`${i}<applications>`);
      for (const a of os.applications) {
        out.push(`${i}  <application>`);
        const j = `${i}    `;
        el(j, 'name', a.name);
        if (a.epoch) el(j, 'epoch', a.epoch);
        el(j, 'version', a.version);
        el(j, 'release', a.release);
        el(j, 'arch', a.arch);
        el(j, 'url', a.url);
        el(j, 'source_package', a.sourcePackage);
        el(j, 'summary', a.summary);
        el(j, 'description', a.description);
        out.push(`${i}  </application>`);
      }
      out.push(`${i}</applications>`);
    }
    out.push('  </operatingsystem>');
  }
  out.push('</operatingsystems>');
  return `${out.join('\n')}\n`;
}
