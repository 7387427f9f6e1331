// SR, VDI and VBD behaviour. VDI contents are sparse files `<vdi-uuid>.raw` in the lab's VDI
// directory, so virtual_size is the file length and physical_utilisation its allocated blocks.
import { execFile } from 'node:child_process';
import { closeSync, openSync, ftruncateSync, statSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fail } from '../wire/failure.js';
import { cloneValue, NULL_REF, XDate, type Struct, type Value } from '../wire/values.js';
import type { HandlerTable, Lab } from './context.js';
import { plugHandlers } from './devices.js';

const run = promisify(execFile);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function vdiPath(lab: Lab, vdiRef: string): string {
  const uuid = lab.store.require('VDI', vdiRef).uuid as string;
  // The uuid names a file: never let anything but a plain uuid near the file system.
  if (!UUID.test(uuid)) fail('INTERNAL_ERROR', `VDI ${vdiRef} has a malformed uuid`);
  return join(lab.vdiDir, `${uuid}.raw`);
}

/** Re-read the file's allocation after its contents changed. */
export function refreshUtilisation(lab: Lab, vdiRef: string): void {
  const path = vdiPath(lab, vdiRef);
  const st = existsSync(path) ? statSync(path) : undefined;
  lab.store.update('VDI', vdiRef, { physical_utilisation: BigInt((st?.blocks ?? 0) * 512) });
}

function ensureFile(path: string, size: bigint): void {
  const fd = openSync(path, existsSync(path) ? 'r+' : 'w');
  try {
    ftruncateSync(fd, Number(size));
  } finally {
    closeSync(fd);
  }
}

function refreshSr(lab: Lab, srRef: string): void {
  const sr = lab.store.get('SR', srRef);
  if (!sr) return;
  let virtual = 0n;
  let physical = 0n;
  for (const v of sr.VDIs as string[]) {
    const vdi = lab.store.get('VDI', v);
    virtual += (vdi?.virtual_size as bigint | undefined) ?? 0n;
    physical += (vdi?.physical_utilisation as bigint | undefined) ?? 0n;
  }
  lab.store.update('SR', srRef, { virtual_allocation: virtual, physical_utilisation: physical });
}

const VDI_OPS = ['clone', 'copy', 'resize', 'snapshot', 'destroy', 'forget', 'update', 'generate_config'];

export function createVdi(lab: Lab, fields: Struct): string {
  const srRef = fields.SR as string;
  const sr = lab.store.require('SR', srRef);
  const size = (fields.virtual_size as bigint | undefined) ?? 0n;
  if (size < 0n) fail('INVALID_VALUE', 'virtual_size', String(size));
  // Local ext SRs are thin: only a disk larger than the whole SR is refused.
  if (size > (sr.physical_size as bigint)) fail('SR_FULL', String(size), String(sr.physical_size as bigint));
  const ref = lab.store.create('VDI', { ...fields, allowed_operations: VDI_OPS, managed: true, location: '' });
  const rec = lab.store.require('VDI', ref);
  lab.store.update('VDI', ref, { location: rec.uuid as string, sm_config: { vdi_type: 'vhd', ...(rec.sm_config as Struct) } });
  ensureFile(vdiPath(lab, ref), size);
  refreshUtilisation(lab, ref);
  refreshSr(lab, srRef);
  return ref;
}

/** Copy a VDI's record and contents (sparse-preserving `cp`), as clone/snapshot/copy do. */
export async function duplicateVdi(lab: Lab, vdiRef: string, extra: Struct, srRef?: string): Promise<string> {
  const src = lab.store.require('VDI', vdiRef);
  const fields: Struct = {};
  for (const k of ['name_label', 'name_description', 'type', 'sharable', 'read_only', 'other_config', 'xenstore_data', 'sm_config', 'tags', 'virtual_size']) {
    fields[k] = cloneValue(src[k] as Value);
  }
  const sr = srRef ?? (src.SR as string);
  const ref = lab.store.create('VDI', { ...fields, ...extra, SR: sr, allowed_operations: VDI_OPS, managed: true });
  const rec = lab.store.require('VDI', ref);
  lab.store.update('VDI', ref, { location: rec.uuid as string });
  await run('cp', ['--sparse=always', vdiPath(lab, vdiRef), vdiPath(lab, ref)]);
  refreshUtilisation(lab, ref);
  refreshSr(lab, sr);
  return ref;
}

export function destroyVdi(lab: Lab, vdiRef: string): void {
  const rec = lab.store.require('VDI', vdiRef);
  for (const vbd of rec.VBDs as string[]) {
    if (lab.store.get('VBD', vbd)?.currently_attached === true) fail('VDI_IN_USE', vdiRef, 'destroy');
  }
  rmSync(vdiPath(lab, vdiRef), { force: true });
  for (const vbd of [...(rec.VBDs as string[])]) lab.store.update('VBD', vbd, { VDI: NULL_REF, empty: true });
  lab.store.destroy('VDI', vdiRef);
  refreshSr(lab, rec.SR as string);
}

export const storageHandlers: HandlerTable = {
  'VDI.create': (ctx, record) => createVdi(ctx.lab, record as Struct),
  'VDI.destroy': (ctx, vdi) => {
    destroyVdi(ctx.lab, vdi as string);
    return '';
  },
  'VDI.resize': (ctx, vdi, size) => {
    const rec = ctx.lab.store.require('VDI', vdi as string);
    if ((size as bigint) < (rec.virtual_size as bigint)) fail('SR_BACKEND_FAILURE', '79', '', 'VDI Invalid size: shrinking is not supported');
    ensureFile(vdiPath(ctx.lab, vdi as string), size as bigint);
    ctx.lab.store.update('VDI', vdi as string, { virtual_size: size as bigint });
    refreshUtilisation(ctx.lab, vdi as string);
    refreshSr(ctx.lab, rec.SR as string);
    return '';
  },
  'VDI.resize_online': (ctx, vdi, size) => storageHandlers['VDI.resize']?.(ctx, vdi as string, size as bigint) as Value,
  'VDI.snapshot': (ctx, vdi) =>
    duplicateVdi(ctx.lab, vdi as string, {
      is_a_snapshot: true,
      snapshot_of: vdi as string,
      snapshot_time: XDate.fromDate(new Date()),
    }),
  'VDI.clone': (ctx, vdi) => duplicateVdi(ctx.lab, vdi as string, {}),
  'VDI.copy': (ctx, vdi, sr) => duplicateVdi(ctx.lab, vdi as string, {}, sr as string),
  'VDI.forget': (ctx, vdi) => {
    ctx.lab.store.destroy('VDI', vdi as string);
    return '';
  },
  'VDI.update': () => '',
  // The lab runs no NBD server; xapi also answers [] when no network has purpose nbd/insecure_nbd.
  'VDI.get_nbd_info': () => [],
  'SR.scan': () => '',
  'SR.get_supported_types': () => ['ext', 'lvm', 'nfs', 'iso'],
  'VBD.create': (ctx, record) => {
    const r = record as Struct;
    const vdi = (r.VDI as string | undefined) ?? NULL_REF;
    let userdevice = (r.userdevice as string | undefined) ?? '';
    const vm = ctx.lab.store.require('VM', r.VM as string);
    const used = new Set((vm.VBDs as string[]).map((b) => ctx.lab.store.get('VBD', b)?.userdevice));
    if (userdevice === 'autodetect' || userdevice === '') {
      let n = 0;
      while (used.has(String(n))) n++;
      userdevice = String(n);
    } else if (used.has(userdevice)) fail('DEVICE_ALREADY_EXISTS', userdevice);
    return ctx.lab.store.create('VBD', {
      ...r,
      VDI: vdi,
      userdevice,
      empty: vdi === NULL_REF ? true : Boolean(r.empty),
      currently_attached: false,
      allowed_operations: ['attach', 'plug'],
    });
  },
  ...plugHandlers('VBD'),
  'VBD.insert': (ctx, vbd, vdi) => {
    const rec = ctx.lab.store.require('VBD', vbd as string);
    if (rec.empty !== true) fail('VBD_NOT_EMPTY', vbd as string);
    ctx.lab.store.update('VBD', vbd as string, { VDI: vdi as string, empty: false });
    return '';
  },
  'VBD.eject': (ctx, vbd) => {
    const rec = ctx.lab.store.require('VBD', vbd as string);
    if (rec.empty === true) fail('VBD_IS_EMPTY', vbd as string);
    ctx.lab.store.update('VBD', vbd as string, { VDI: NULL_REF, empty: true });
    return '';
  },
  'VBD.destroy': (ctx, vbd) => {
    const rec = ctx.lab.store.require('VBD', vbd as string);
    if (rec.currently_attached === true) fail('OPERATION_NOT_ALLOWED', 'VBD is currently attached');
    ctx.lab.store.destroy('VBD', vbd as string);
    return '';
  },
};
