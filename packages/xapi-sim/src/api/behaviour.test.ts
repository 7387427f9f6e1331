import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from '../index.js';
import { caller, login } from '../test-helpers/rpc.js';

let lab: RunningLab;
let x: ReturnType<typeof caller>;
beforeAll(async () => {
  lab = await startLab({ authFailureDelayMs: 10, vms: 2 });
  x = caller(lab.url, await login(lab.url));
});
afterAll(() => lab.close());

const MiB = 1024 * 1024;

async function sr(): Promise<string> {
  const pool = (await x.call<string[]>('pool.get_all'))[0];
  return x.call<string>('pool.get_default_SR', pool);
}

describe('VDI', () => {
  it('is a sparse file: virtual_size is its length, physical_utilisation its allocation', async () => {
    const vdi = await x.call<string>('VDI.create', { SR: await sr(), name_label: 'sparse', virtual_size: 64 * MiB, type: 'user' });
    const uuid = await x.call<string>('VDI.get_uuid', vdi);
    const file = join(lab.stateDir, 'vdis', `${uuid}.raw`);
    expect(statSync(file).size).toBe(64 * MiB);
    expect(statSync(file).blocks).toBe(0);
    expect(await x.call('VDI.get_virtual_size', vdi)).toBe(64 * MiB);
    expect(await x.call('VDI.get_physical_utilisation', vdi)).toBe(0);
    await x.call('VDI.resize', vdi, 128 * MiB);
    expect(statSync(file).size).toBe(128 * MiB);
    expect(await x.fail('VDI.resize', vdi, MiB)).toEqual(expect.arrayContaining(['SR_BACKEND_FAILURE']));
  });

  it('snapshot and clone copy contents and link snapshot_of/snapshots; destroy removes the file', async () => {
    const vdi = await x.call<string>('VDI.create', { SR: await sr(), name_label: 'base', virtual_size: 4 * MiB, type: 'user' });
    const snap = await x.call<string>('VDI.snapshot', vdi, {});
    expect(await x.call('VDI.get_is_a_snapshot', snap)).toBe(true);
    expect(await x.call('VDI.get_snapshot_of', snap)).toBe(vdi);
    expect(await x.call('VDI.get_snapshots', vdi)).toEqual([snap]);
    const clone = await x.call<string>('VDI.clone', vdi);
    expect(await x.call('VDI.get_virtual_size', clone)).toBe(4 * MiB);
    const uuid = await x.call<string>('VDI.get_uuid', clone);
    await x.call('VDI.destroy', clone);
    expect(() => statSync(join(lab.stateDir, 'vdis', `${uuid}.raw`))).toThrow();
    expect(await x.fail('VDI.get_record', clone)).toEqual(['HANDLE_INVALID', 'VDI', clone]);
    expect(await x.fail('VDI.get_by_uuid', uuid)).toEqual(['UUID_INVALID', 'VDI', uuid]);
  });
});

describe('constructor records', () => {
  it('ignore RO/runtime fields such as uuid, as xapi does (no path games with VDI files)', async () => {
    const vdi = await x.call<string>('VDI.create', { SR: await sr(), name_label: 'evil', virtual_size: MiB, type: 'user', uuid: '../../escape' });
    expect(await x.call('VDI.get_uuid', vdi)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await x.call('VDI.get_physical_utilisation', vdi)).toBe(0);
  });
});

describe('VM lifecycle', () => {
  it('installs from a template (clone + provision), keeps HVM vs PV fields, and runs the power-state machine', async () => {
    const [hvmTpl] = await x.call<string[]>('VM.get_by_name_label', 'Debian Bookworm 12');
    const [pvTpl] = await x.call<string[]>('VM.get_by_name_label', 'Generic Linux PV (legacy)');
    const vm = await x.call<string>('VM.clone', hvmTpl, 'installed');
    await x.call('VM.provision', vm);
    expect(await x.fail('VM.start', vm, false, false)).toEqual(['VM_IS_TEMPLATE', vm]);
    await x.call('VM.set_is_a_template', vm, false);
    const rec = await x.call<Record<string, unknown>>('VM.get_record', vm);
    expect(rec).toMatchObject({ HVM_boot_policy: 'BIOS order', domain_type: 'hvm', power_state: 'Halted', PV_bootloader: '' });
    const pv = await x.call<string>('VM.copy', pvTpl, 'pv guest', await sr());
    expect(await x.call<Record<string, unknown>>('VM.get_record', pv)).toMatchObject({ HVM_boot_policy: '', domain_type: 'pv', PV_bootloader: 'pygrub' });

    await x.call('VM.start', vm, false, false);
    expect(await x.call('VM.get_power_state', vm)).toBe('Running');
    expect(await x.fail('VM.start', vm, false, false)).toEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'running']);
    expect(await x.fail('VM.clone', vm, 'no')).toEqual(['VM_BAD_POWER_STATE', vm, 'halted', 'running']);
    const domid = await x.call<number>('VM.get_domid', vm);
    await x.call('VM.clean_reboot', vm);
    expect(await x.call('VM.get_domid', vm)).toBe(domid + 1);
    const metrics = await x.call<string>('VM.get_metrics', vm);
    expect(await x.call('VM_metrics.get_current_domain_type', metrics)).toBe('hvm');
    await x.call('VM.clean_shutdown', vm);
    expect(await x.fail('VM.clean_shutdown', vm)).toEqual(['VM_BAD_POWER_STATE', vm, 'running', 'halted']);
    expect(await x.call('VM.get_resident_on', vm)).toBe('OpaqueRef:NULL');

    await x.call('VM.set_HVM_boot_policy', vm, '');
    expect(await x.call('VM.get_domain_type', vm)).toBe('pv');
    await x.call('VM.set_domain_type', vm, 'hvm');
    expect(await x.call('VM.get_HVM_boot_policy', vm)).toBe('BIOS order');
  });

  it('creates VBDs and VIFs that show up on the VM, VDI and network', async () => {
    const [tpl] = await x.call<string[]>('VM.get_by_name_label', 'Other install media');
    const vm = await x.call<string>('VM.clone', tpl, 'devices');
    const vdi = await x.call<string>('VDI.create', { SR: await sr(), name_label: 'root', virtual_size: MiB, type: 'user' });
    const vbd = await x.call<string>('VBD.create', { VM: vm, VDI: vdi, userdevice: 'autodetect', bootable: true, mode: 'RW', type: 'Disk' });
    expect(await x.call('VBD.get_userdevice', vbd)).toBe('0');
    expect(await x.call('VM.get_VBDs', vm)).toEqual([vbd]);
    expect(await x.call('VDI.get_VBDs', vdi)).toEqual([vbd]);
    const net = (await x.call<string[]>('network.get_all'))[0];
    const vif = await x.call<string>('VIF.create', { VM: vm, network: net, device: '0', MAC: '', MTU: 1500, other_config: {}, qos_algorithm_type: '', qos_algorithm_params: {} });
    expect(await x.call('VIF.get_MAC', vif)).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(await x.call('network.get_VIFs', net)).toContain(vif);
    expect(await x.fail('VBD.plug', vbd)).toEqual(['VM_BAD_POWER_STATE', vm, 'running', 'halted']);
    await x.call('VM.set_is_a_template', vm, false);
    await x.call('VM.start', vm, false, false);
    expect(await x.call('VBD.get_currently_attached', vbd)).toBe(true);
    expect(await x.fail('VDI.destroy', vdi)).toEqual(['VDI_IN_USE', vdi, 'destroy']);
    await x.call('VM.hard_shutdown', vm);
    await x.call('VM.destroy', vm);
    expect(await x.fail('VBD.get_record', vbd)).toEqual(['HANDLE_INVALID', 'VBD', vbd]);
    expect(await x.call('VDI.get_VBDs', vdi)).toEqual([]);
  });

  it('records messages', async () => {
    const pool = (await x.call<string[]>('pool.get_all'))[0] as string;
    const uuid = await x.call<string>('pool.get_uuid', pool);
    const msg = await x.call<string>('message.create', 'LAB_TEST', 3, 'Pool', uuid, 'hello');
    expect(await x.call('message.get_record', msg)).toMatchObject({ name: 'LAB_TEST', priority: 3, cls: 'Pool', obj_uuid: uuid, body: 'hello' });
    expect(Object.keys(await x.call<object>('message.get_all_records'))).toContain(msg);
  });
});
