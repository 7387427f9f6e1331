import type { ReadOnlyFileSystem } from '@xenkit/disk';

/** What inspection knows about one volume (a partition, an LV, a whole disk, or a directory tree). */
export interface GuestVolume {
  /** Device name as the guest and virt-inspector would show it: /dev/sda1, /dev/vg/root, or the tree path. */
  device: string;
  kind: 'disk' | 'partition' | 'lv' | 'tree';
  /** Filesystem type as blkid names it (ext4, xfs, swap, LVM2_member…), when known. */
  fsType?: string;
  /** Filesystem type as parted names it (nova's auto_disk_config reads this). */
  partedType?: string;
  label?: string;
  uuid?: string;
  partuuid?: string;
  partlabel?: string;
  partitionNumber?: number;
  vg?: string;
  lv?: string;
  size?: number;
  /** Open the filesystem; null when xenkit cannot read this filesystem type. */
  open(): Promise<ReadOnlyFileSystem | null>;
}

/**
 * Resolve an fstab spec (UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/disk/by-*, /dev/mapper/VG-LV,
 * /dev/VG/LV, /dev/[hsvx]dXN) to a volume. Device names are matched on the partition number, as
 * libguestfs remaps them: the guest's /dev/xvda1 is the image's first partition.
 */
export function resolveSpec(spec: string, volumes: readonly GuestVolume[]): GuestVolume | undefined {
  const eq = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.*)$/.exec(spec);
  const by = /^\/dev\/disk\/by-(uuid|label|partuuid|partlabel)\/(.+)$/.exec(spec);
  const key = (eq?.[1] ?? by?.[1])?.toUpperCase();
  const raw = eq?.[2] ?? by?.[2];
  if (key && raw !== undefined) {
    const value = raw.replace(/^["']|["']$/g, '').replace(/\\x2d/g, '-');
    const lc = value.toLowerCase();
    switch (key) {
      case 'UUID':
        return volumes.find((v) => v.uuid?.toLowerCase() === lc);
      case 'LABEL':
        return volumes.find((v) => v.label === value);
      case 'PARTUUID':
        return volumes.find((v) => v.partuuid?.toLowerCase() === lc);
      case 'PARTLABEL':
        return volumes.find((v) => v.partlabel === value);
    }
  }
  const mapper = /^\/dev\/mapper\/(.+)$/.exec(spec);
  if (mapper) {
    // device-mapper doubles a dash inside a VG or LV name.
    const m = /^((?:[^-]|--)+)-((?:[^-]|--)+)$/.exec(mapper[1] as string);
    if (m) {
      const vg = (m[1] as string).replace(/--/g, '-');
      const lv = (m[2] as string).replace(/--/g, '-');
      return volumes.find((v) => v.vg === vg && v.lv === lv);
    }
  }
  const vglv = /^\/dev\/([^/]+)\/([^/]+)$/.exec(spec);
  if (vglv) {
    const hit = volumes.find((v) => v.vg === vglv[1] && v.lv === vglv[2]);
    if (hit) return hit;
  }
  const dev = /^\/dev\/(?:[hsv]|xv)d[a-z]+(\d+)?$/.exec(spec) ?? /^\/dev\/(?:nvme\d+n\d+|mmcblk\d+)(?:p(\d+))?$/.exec(spec);
  if (dev) {
    if (dev[1] === undefined) return volumes.find((v) => v.kind === 'disk' || v.kind === 'tree');
    const n = Number(dev[1]);
    return volumes.find((v) => v.kind === 'partition' && v.partitionNumber === n);
  }
  return volumes.find((v) => v.device === spec);
}
