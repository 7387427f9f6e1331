// The seeded lab: a pool, its hosts (each with a control domain, a management PIF on the shared
// network and a local ext SR), installable templates (HVM and PV) and a few VMs with a disk and a NIC.
import { type Struct } from './wire/values.js';
import type { Lab } from './api/context.js';
import { createVdi } from './api/storage.js';
import { createVm, randomMac } from './api/vm.js';

const GiB = 1024n ** 3n;

export interface SeedOptions {
  hosts: { address: string; hostname: string }[];
  vms: number;
}

/** VMs past this many get no disk, so a 10,000-VM lab starts in seconds without 10,000 files. */
const VMS_WITH_DISKS = 8;

const TEMPLATES: { name: string; hvm: boolean; memory: bigint }[] = [
  { name: 'Debian Bookworm 12', hvm: true, memory: 2n * GiB },
  { name: 'Ubuntu Noble Numbat 24.04', hvm: true, memory: 2n * GiB },
  { name: 'Other install media', hvm: true, memory: 1n * GiB },
  { name: 'Generic Linux PV (legacy)', hvm: false, memory: 1n * GiB },
];

function templateFields(t: (typeof TEMPLATES)[number]): Struct {
  return {
    name_label: t.name,
    name_description: `Template for ${t.name}`,
    is_a_template: true,
    is_default_template: true,
    user_version: 1n,
    memory_static_max: t.memory,
    memory_dynamic_max: t.memory,
    memory_dynamic_min: t.memory / 2n,
    memory_static_min: 256n * 1024n * 1024n,
    VCPUs_max: 2n,
    VCPUs_at_startup: 1n,
    actions_after_shutdown: 'destroy',
    actions_after_reboot: 'restart',
    actions_after_crash: 'restart',
    HVM_boot_policy: t.hvm ? 'BIOS order' : '',
    HVM_boot_params: t.hvm ? { order: 'cdn', firmware: 'bios' } : {},
    PV_bootloader: t.hvm ? '' : 'pygrub',
    platform: t.hvm ? { acpi: '1', apic: 'true', pae: 'true', nx: 'true', viridian: 'false', 'device-model': 'qemu-upstream-compat' } : { nx: 'false' },
    other_config: { default_template: 'true', linux_template: 'true', install_methods: 'cdrom,nfs,http,ftp' },
    recommendations: '<restrictions><restriction field="memory-static-max" max="137438953472"/></restrictions>',
  };
}

export function seedLab(lab: Lab, opts: SeedOptions): void {
  const { store } = lab;
  const network = store.create('network', {
    name_label: 'Pool-wide network associated with eth0',
    bridge: 'xenbr0',
    MTU: 1500n,
    managed: true,
    other_config: {},
  });
  const hosts: string[] = [];
  const srs: string[] = [];
  opts.hosts.forEach((h, i) => {
    const metrics = store.create('host_metrics', { memory_total: 64n * GiB, memory_free: 60n * GiB, live: true });
    const host = store.create('host', {
      name_label: h.hostname,
      hostname: h.hostname,
      address: h.address,
      enabled: true,
      metrics,
      API_version_major: 2n,
      API_version_minor: 21n,
      API_version_vendor: 'XenSource',
      software_version: { product_brand: 'XenServer', product_version: '8.4.0', platform_name: 'XCP', xapi: '25.6', xen: '4.17.5', xenkit_lab: 'true' },
      cpu_info: { cpu_count: '8', socket_count: '1', vendor: 'GenuineIntel', modelname: 'xenkit lab CPU' },
      capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_64'],
      allowed_operations: ['provision', 'evacuate', 'shutdown', 'reboot', 'vm_start', 'vm_resume', 'vm_migrate'],
      memory_overhead: 0n,
    });
    hosts.push(host);
    store.create('PIF', {
      device: 'eth0',
      network,
      host,
      MAC: randomMac(),
      MTU: 1500n,
      VLAN: -1n,
      physical: true,
      currently_attached: true,
      management: true,
      ip_configuration_mode: 'Static',
      IP: h.address,
      netmask: '255.0.0.0',
      managed: true,
    });
    const sr = store.create('SR', {
      name_label: opts.hosts.length > 1 ? `Local storage on ${h.hostname}` : 'Local storage',
      type: 'ext',
      content_type: 'user',
      shared: false,
      physical_size: 1024n * GiB,
      allowed_operations: ['vdi_create', 'vdi_destroy', 'vdi_resize', 'vdi_clone', 'vdi_snapshot', 'scan'],
      sm_config: { devserial: `xenkit-lab-${i}` },
    });
    srs.push(sr);
    store.create('PBD', { host, SR: sr, currently_attached: true, device_config: { device: `/dev/lab${i}` } });
    const dom0 = createVm(lab, {
      name_label: `Control domain on host: ${h.hostname}`,
      is_control_domain: true,
      memory_static_max: 4n * GiB,
      memory_dynamic_max: 4n * GiB,
      VCPUs_max: 8n,
      VCPUs_at_startup: 8n,
      domain_type: 'pv',
    });
    store.update('VM', dom0, { power_state: 'Running', resident_on: host, domid: 0n, allowed_operations: ['snapshot', 'changing_dynamic_range'] });
  });
  lab.masterRef = hosts[0] as string;
  lab.poolRef = store.create('pool', {
    name_label: 'xenkit lab',
    master: lab.masterRef,
    default_SR: srs[0] as string,
    suspend_image_SR: srs[0] as string,
    crash_dump_SR: srs[0] as string,
  });
  const templates = TEMPLATES.map((t) => createVm(lab, templateFields(t)));
  // Seeded VMs alternate between an HVM and a PV template, so both field sets are exercised.
  for (let i = 0; i < opts.vms; i++) seedVm(lab, i, SEEDED[i % 2] as number, templates, network, srs[i % srs.length] as string, hosts);
}

const SEEDED = [0, 3];

function seedVm(lab: Lab, i: number, kind: number, templates: string[], network: string, sr: string, hosts: string[]): void {
  const { store } = lab;
  const t = store.require('VM', templates[kind] as string);
  const vm = createVm(lab, {
    ...templateFields(TEMPLATES[kind] as (typeof TEMPLATES)[number]),
    name_label: `lab-vm-${i + 1}`,
    name_description: 'seeded by xenkit lab',
    is_a_template: false,
    is_default_template: false,
    other_config: { base_template_name: t.name_label as string },
  });
  if (i < VMS_WITH_DISKS) {
    const vdi = createVdi(lab, { name_label: `lab-vm-${i + 1} disk`, SR: sr, virtual_size: 1n * GiB, type: 'user' });
    store.create('VBD', { VM: vm, VDI: vdi, userdevice: '0', bootable: true, mode: 'RW', type: 'Disk' });
  }
  store.create('VIF', { VM: vm, network, device: '0', MAC: randomMac(), MTU: 1500n, MAC_autogenerated: true });
  if (i === 0) {
    const host = hosts[0] as string;
    store.update('VM', vm, { power_state: 'Running', resident_on: host, domid: 1n });
    for (const d of store.require('VM', vm).VBDs as string[]) store.update('VBD', d, { currently_attached: true });
  }
}
