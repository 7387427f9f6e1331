import { InputError } from '@xenkit/core';
import type { BlockSource } from '@xenkit/disk';
import type { Xapi } from './xapi.js';
import type { HostRecord, Ref, SRRecord, VDIRecord, VMRecord } from './generated/types.generated.js';
import type { TransferProgress } from './transfer.js';
import type { UploadImage } from './image.js';

/**
 * Operator views over a connected client: what `xenkit xapi` prints. Rows are plain JSON values
 * (numbers, strings), so `--json` and tables show the same data.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Find an object by uuid, OpaqueRef or a name-label that only one object has. */
export async function resolveObject(xapi: Xapi, cls: 'VM' | 'VDI' | 'SR' | 'host', id: string): Promise<string> {
  if (id.startsWith('OpaqueRef:')) return id;
  const api = xapi[cls] as unknown as {
    get_by_uuid(u: string): Promise<string>;
    get_by_name_label(n: string): Promise<string[]>;
  };
  if (UUID.test(id)) return api.get_by_uuid(id);
  const refs = await api.get_by_name_label(id);
  if (refs.length === 1) return refs[0]!;
  const what = refs.length === 0 ? 'no' : `${refs.length}`;
  throw new InputError(refs.length === 0 ? 'E_XAPI_NOT_FOUND' : 'E_XAPI_AMBIGUOUS', `${what} ${cls} named "${id}"; use its uuid`, {
    details: { class: cls, name: id, matches: refs.length },
  });
}

/** bigint → number when exact, else decimal string; Date → ISO string: what JSON can carry. */
export function toPlain(value: unknown, depth = 0): unknown {
  if (depth > 64) return '[deep]';
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map((v) => toPlain(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v, depth + 1);
    return out;
  }
  return value;
}

const num = (v: unknown): number | string => toPlain(v) as number | string;

export interface HostRow {
  uuid: string;
  name_label: string;
  address: string;
  api_version: string;
  enabled: boolean;
}

export async function listHosts(xapi: Xapi): Promise<HostRow[]> {
  const hosts = Object.values(await xapi.host.get_all_records()) as HostRecord[];
  return hosts
    .map((h) => ({
      uuid: h.uuid,
      name_label: h.name_label,
      address: h.address,
      api_version: `${h.API_version_major ?? '?'}.${h.API_version_minor ?? '?'}`,
      enabled: h.enabled ?? true,
    }))
    .sort((a, b) => a.name_label.localeCompare(b.name_label));
}

export interface VmRow {
  uuid: string;
  name_label: string;
  power_state: string;
  /** PV, HVM, PVH or PV-in-PVH; from domain_type, or from HVM_boot_policy on hosts before it. */
  domain_type: string;
  PV_bootloader: string;
  PV_args: string;
}

export function domainTypeOf(vm: Partial<VMRecord>): string {
  const t = String(vm.domain_type ?? 'unspecified');
  const names: Record<string, string> = { pv: 'PV', hvm: 'HVM', pvh: 'PVH', pv_in_pvh: 'PV-in-PVH' };
  if (names[t]) return names[t];
  return vm.HVM_boot_policy ? 'HVM' : 'PV';
}

export async function listVms(xapi: Xapi): Promise<VmRow[]> {
  const vms = Object.values(await xapi.VM.get_all_records()) as VMRecord[];
  return vms
    .filter((v) => !v.is_a_template && !v.is_control_domain && !v.is_a_snapshot)
    .map((v) => ({
      uuid: v.uuid,
      name_label: v.name_label,
      power_state: v.power_state,
      domain_type: domainTypeOf(v),
      PV_bootloader: v.PV_bootloader ?? '',
      PV_args: v.PV_args ?? '',
    }))
    .sort((a, b) => a.name_label.localeCompare(b.name_label));
}

export interface SrRow {
  uuid: string;
  name_label: string;
  type: string;
  physical_size: number | string;
  physical_utilisation: number | string;
}

export async function listSrs(xapi: Xapi): Promise<SrRow[]> {
  const srs = Object.values(await xapi.SR.get_all_records()) as SRRecord[];
  return srs
    .map((s) => ({ uuid: s.uuid, name_label: s.name_label, type: s.type, physical_size: num(s.physical_size), physical_utilisation: num(s.physical_utilisation) }))
    .sort((a, b) => a.name_label.localeCompare(b.name_label));
}

export interface VdiRow {
  uuid: string;
  name_label: string;
  sr: string;
  virtual_size: number | string;
  type: string;
  read_only: boolean;
}

export async function listVdis(xapi: Xapi, sr?: string): Promise<VdiRow[]> {
  const [vdis, srs] = await Promise.all([xapi.VDI.get_all_records(), xapi.SR.get_all_records()]);
  const srRef = sr ? await resolveObject(xapi, 'SR', sr) : undefined;
  return (Object.values(vdis) as VDIRecord[])
    .filter((v) => !srRef || v.SR === srRef)
    .map((v) => ({
      uuid: v.uuid,
      name_label: v.name_label,
      sr: (srs as Record<string, SRRecord>)[v.SR]?.name_label ?? String(v.SR),
      virtual_size: num(v.virtual_size),
      type: v.type,
      read_only: Boolean(v.read_only),
    }))
    .sort((a, b) => a.name_label.localeCompare(b.name_label));
}

export async function showVm(xapi: Xapi, id: string): Promise<Record<string, unknown>> {
  const ref = await resolveObject(xapi, 'VM', id);
  const record = await xapi.VM.get_record(ref as Ref<'VM'>);
  return { ref, ...(toPlain(record) as Record<string, unknown>), domain_type_shown: domainTypeOf(record) };
}

export interface ImportResult {
  vdi: string;
  uuid: string;
  /** How it went on the wire: 'raw' (chunked, data only) or 'vhd'. */
  format: string;
  virtual_size: number;
  /** Bytes put on the wire (the image's data, not its virtual size). */
  sent: number;
}

/**
 * Create a VDI of the image's virtual size in `sr` and upload the image into it: a BlockSource (or a
 * raw file) as its data only, a VHD file as VHD.
 */
export async function importImage(
  xapi: Xapi,
  options: { source: BlockSource | UploadImage; sr: string; name: string; signal?: AbortSignal; onProgress?: (p: TransferProgress) => void },
): Promise<ImportResult> {
  const image: UploadImage = 'kind' in options.source ? options.source : { kind: 'raw', source: options.source };
  const virtualSize = image.kind === 'vhd' ? image.size : image.source.size;
  const sr = (await resolveObject(xapi, 'SR', options.sr)) as Ref<'SR'>;
  const vdi = await xapi.VDI.create({
    SR: sr,
    name_label: options.name,
    name_description: 'imported by xenkit',
    virtual_size: BigInt(virtualSize),
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: {},
  });
  let sent = 0;
  try {
    await xapi.importVdi({
      vdi,
      ...(image.kind === 'vhd' ? { file: image.file, format: 'vhd' as const } : { source: image.source }),
      signal: options.signal,
      onProgress: (p) => {
        sent = p.done;
        options.onProgress?.(p);
      },
    });
  } catch (e) {
    await xapi.VDI.destroy(vdi).catch(() => undefined);
    throw e;
  }
  return { vdi, uuid: await xapi.VDI.get_uuid(vdi), format: image.kind, virtual_size: virtualSize, sent };
}

export async function exportImage(
  xapi: Xapi,
  options: { vdi: string; file: string; format: 'raw' | 'vhd'; signal?: AbortSignal; onProgress?: (p: TransferProgress) => void },
): Promise<{ vdi: string; file: string; format: string; bytes: number }> {
  const vdi = await resolveObject(xapi, 'VDI', options.vdi);
  let bytes = 0;
  await xapi.exportVdi({
    vdi,
    file: options.file,
    format: options.format,
    signal: options.signal,
    onProgress: (p) => {
      bytes = p.done;
      options.onProgress?.(p);
    },
  });
  return { vdi, file: options.file, format: options.format, bytes };
}

/** `xenkit xapi call`: any method, JSON-ish arguments, a plain-JSON result. */
export async function callMethod(xapi: Xapi, method: string, args: unknown[]): Promise<unknown> {
  return toPlain(await xapi.call(method, ...args));
}
