// VM behaviour: create (domain_type derived from HVM_boot_policy as xapi does for old clients),
// clone/copy/snapshot with their disks, provision, and the power-state machine with
// VM_BAD_POWER_STATE [vm, expected, actual] (lower-case state names).
import { randomBytes } from 'node:crypto';
import { fail } from '../wire/failure.js';
import { cloneValue, NULL_REF, XDate, type Struct, type Value } from '../wire/values.js';
import type { CallContext, HandlerTable, Lab } from './context.js';
import { duplicateVdi } from './storage.js';

const HALTED_OPS = ['start', 'start_on', 'clone', 'copy', 'snapshot', 'destroy', 'export', 'provision'];
const RUNNING_OPS = ['clean_shutdown', 'hard_shutdown', 'clean_reboot', 'hard_reboot', 'pause', 'suspend', 'snapshot'];

export function deriveDomainType(hvmBootPolicy: string): string {
  return hvmBootPolicy === '' ? 'pv' : 'hvm';
}

export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] as number) & 0xfe) | 0x02; // locally administered, unicast
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function vm(lab: Lab, ref: string): Struct {
  return lab.store.require('VM', ref);
}

function expectState(lab: Lab, ref: string, ...expected: string[]): Struct {
  const rec = vm(lab, ref);
  if (!expected.includes(rec.power_state as string)) {
    fail('VM_BAD_POWER_STATE', ref, (expected[0] as string).toLowerCase(), (rec.power_state as string).toLowerCase());
  }
  return rec;
}

function notTemplate(lab: Lab, ref: string): void {
  if (vm(lab, ref).is_a_template === true) fail('VM_IS_TEMPLATE', ref);
}

export function createVm(lab: Lab, fields: Struct): string {
  const domainType =
    fields.domain_type === undefined || fields.domain_type === 'unspecified'
      ? deriveDomainType((fields.HVM_boot_policy as string | undefined) ?? '')
      : fields.domain_type;
  const metrics = lab.store.create('VM_metrics', { memory_actual: 0n, VCPUs_number: 0n, current_domain_type: 'unspecified' });
  return lab.store.create('VM', {
    ...fields,
    domain_type: domainType,
    power_state: 'Halted',
    metrics,
    allowed_operations: HALTED_OPS,
    domid: -1n,
  });
}

function setPower(lab: Lab, ref: string, state: 'Halted' | 'Running' | 'Paused' | 'Suspended', host?: string): void {
  const rec = vm(lab, ref);
  const running = state === 'Running' || state === 'Paused';
  const patch: Struct = {
    power_state: state,
    allowed_operations: running ? RUNNING_OPS : HALTED_OPS,
    resident_on: running ? (host ?? (rec.resident_on as string)) : NULL_REF,
    domid: running ? BigInt(1 + Number((rec.domid as bigint) < 0n ? 0n : (rec.domid as bigint))) : -1n,
  };
  lab.store.update('VM', ref, patch);
  const metrics = rec.metrics as string;
  if (lab.store.get('VM_metrics', metrics)) {
    lab.store.update('VM_metrics', metrics, {
      current_domain_type: running ? (rec.domain_type as string) : 'unspecified',
      memory_actual: running ? (rec.memory_dynamic_max as bigint) : 0n,
      VCPUs_number: running ? (rec.VCPUs_at_startup as bigint) : 0n,
      start_time: running ? XDate.fromDate(new Date()) : (lab.store.get('VM_metrics', metrics)?.start_time as XDate),
    });
  }
  for (const cls of ['VBD', 'VIF'] as const) {
    for (const dev of rec[`${cls}s`] as string[]) {
      const d = lab.store.get(cls, dev);
      if (d && d.currently_attached !== running && !(cls === 'VBD' && d.empty === true)) {
        lab.store.update(cls, dev, { currently_attached: running });
      }
    }
  }
}

/** Clone, copy and snapshot share this: a new VM record with its own VBDs/VIFs and disk copies. */
async function duplicateVm(ctx: CallContext, ref: string, name: string, extra: Struct, sr?: string): Promise<string> {
  const { lab } = ctx;
  const src = vm(lab, ref);
  const fields: Struct = {};
  for (const [k, v] of Object.entries(src)) fields[k] = cloneValue(v);
  for (const k of ['uuid', 'VBDs', 'VIFs', 'consoles', 'snapshots', 'metrics', 'guest_metrics', 'resident_on', 'crash_dumps', 'VTPMs', 'VUSBs', 'VGPUs', 'attached_PCIs', 'children']) {
    delete fields[k];
  }
  const copy = createVm(lab, { ...fields, name_label: name, ...extra });
  lab.store.update('VM', copy, { power_state: extra.is_a_snapshot === true ? (src.power_state as string) : 'Halted' });
  for (const vbdRef of src.VBDs as string[]) {
    const vbd = lab.store.require('VBD', vbdRef);
    let vdi = vbd.VDI as string;
    if (vdi !== NULL_REF && vbd.type !== 'CD') {
      const snap = extra.is_a_snapshot === true;
      vdi = await duplicateVdi(
        lab,
        vdi,
        snap ? { is_a_snapshot: true, snapshot_of: vdi, snapshot_time: XDate.fromDate(new Date()) } : {},
        sr,
      );
    }
    const { uuid: _u, VM: _v, VDI: _d, currently_attached: _c, metrics: _m, ...rest } = vbd;
    lab.store.create('VBD', { ...cloneValue(rest), VM: copy, VDI: vdi, currently_attached: false });
  }
  for (const vifRef of src.VIFs as string[]) {
    const { uuid: _u, VM: _v, currently_attached: _c, metrics: _m, ...rest } = lab.store.require('VIF', vifRef);
    lab.store.create('VIF', { ...cloneValue(rest), VM: copy, MAC: randomMac(), MAC_autogenerated: true, currently_attached: false });
  }
  return copy;
}

function destroyVm(lab: Lab, ref: string): void {
  const rec = vm(lab, ref);
  if (rec.power_state !== 'Halted' && rec.is_a_snapshot !== true) fail('VM_BAD_POWER_STATE', ref, 'halted', (rec.power_state as string).toLowerCase());
  for (const vbd of [...(rec.VBDs as string[])]) lab.store.destroy('VBD', vbd);
  for (const vif of [...(rec.VIFs as string[])]) lab.store.destroy('VIF', vif);
  if (lab.store.get('VM_metrics', rec.metrics as string)) lab.store.destroy('VM_metrics', rec.metrics as string);
  lab.store.destroy('VM', ref);
}

const start = (ctx: CallContext, ref: string, paused: boolean, host?: string) => {
  notTemplate(ctx.lab, ref);
  expectState(ctx.lab, ref, 'Halted');
  setPower(ctx.lab, ref, paused ? 'Paused' : 'Running', host ?? ctx.lab.masterRef);
  return '';
};
const shutdown = (ctx: CallContext, ref: Value) => {
  expectState(ctx.lab, ref as string, 'Running', 'Paused', 'Suspended');
  setPower(ctx.lab, ref as string, 'Halted');
  return '';
};
const reboot = (ctx: CallContext, ref: Value) => {
  expectState(ctx.lab, ref as string, 'Running');
  setPower(ctx.lab, ref as string, 'Running');
  return '';
};

const transition = (from: string, to: 'Running' | 'Paused' | 'Suspended') => (ctx: CallContext, ref: Value) => {
  expectState(ctx.lab, ref as string, from);
  setPower(ctx.lab, ref as string, to, from === 'Suspended' ? ctx.lab.masterRef : undefined);
  return '';
};

export const vmHandlers: HandlerTable = {
  'VM.create': (ctx, record) => createVm(ctx.lab, record as Struct),
  'VM.destroy': (ctx, ref) => {
    destroyVm(ctx.lab, ref as string);
    return '';
  },
  'VM.start': (ctx, ref, paused) => start(ctx, ref as string, paused as boolean),
  'VM.start_on': (ctx, ref, host, paused) => start(ctx, ref as string, paused as boolean, host as string),
  'VM.clean_shutdown': shutdown,
  'VM.hard_shutdown': shutdown,
  'VM.shutdown': shutdown,
  'VM.clean_reboot': reboot,
  'VM.hard_reboot': reboot,
  'VM.pause': transition('Running', 'Paused'),
  'VM.unpause': transition('Paused', 'Running'),
  'VM.suspend': transition('Running', 'Suspended'),
  'VM.resume': transition('Suspended', 'Running'),
  'VM.clone': (ctx, ref, name) => {
    expectState(ctx.lab, ref as string, 'Halted');
    return duplicateVm(ctx, ref as string, name as string, {});
  },
  'VM.copy': (ctx, ref, name, sr) => {
    expectState(ctx.lab, ref as string, 'Halted');
    return duplicateVm(ctx, ref as string, name as string, {}, sr === NULL_REF ? undefined : (sr as string));
  },
  'VM.snapshot': (ctx, ref, name) => {
    notTemplate(ctx.lab, ref as string);
    return duplicateVm(ctx, ref as string, name as string, {
      is_a_snapshot: true,
      is_a_template: true,
      snapshot_of: ref as string,
      snapshot_time: XDate.fromDate(new Date()),
    });
  },
  // Lab templates carry no <provision> disks, so provisioning only checks the VM is a template.
  'VM.provision': (ctx, ref) => {
    if (vm(ctx.lab, ref as string).is_a_template !== true) fail('VM_NOT_A_TEMPLATE', ref as string);
    return '';
  },
  'VM.set_HVM_boot_policy': (ctx, ref, policy) => {
    ctx.lab.store.update('VM', ref as string, { HVM_boot_policy: policy as string, domain_type: deriveDomainType(policy as string) });
    return '';
  },
  'VM.set_domain_type': (ctx, ref, type) => {
    const patch: Struct = { domain_type: type as string };
    const current = vm(ctx.lab, ref as string).HVM_boot_policy as string;
    if (type === 'hvm' && current === '') patch.HVM_boot_policy = 'BIOS order';
    if ((type === 'pv' || type === 'pvh' || type === 'pv_in_pvh') && current !== '') patch.HVM_boot_policy = '';
    ctx.lab.store.update('VM', ref as string, patch);
    return '';
  },
  'VM.get_boot_record': (ctx, ref) => vm(ctx.lab, ref as string),
  'VM.assert_can_boot_here': () => '',
  'VM.get_allowed_VBD_devices': (ctx, ref) => {
    const used = new Set((vm(ctx.lab, ref as string).VBDs as string[]).map((b) => ctx.lab.store.get('VBD', b)?.userdevice));
    return Array.from({ length: 16 }, (_, i) => String(i)).filter((d) => !used.has(d));
  },
  'VM.get_allowed_VIF_devices': (ctx, ref) => {
    const used = new Set((vm(ctx.lab, ref as string).VIFs as string[]).map((b) => ctx.lab.store.get('VIF', b)?.device));
    return Array.from({ length: 7 }, (_, i) => String(i)).filter((d) => !used.has(d));
  },
};
