import { HostTreeFileSystem } from '@xenkit/disk';
import type { GuestVolume } from './volumes.js';

/** A host directory tree as the one volume of a "disk" (check --root DIR). */
export async function treeVolume(dir: string): Promise<GuestVolume> {
  const fs = await HostTreeFileSystem.open(dir);
  return { device: fs.description, kind: 'tree', open: async () => fs };
}
