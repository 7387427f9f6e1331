import { treeVolume } from './os/tree.js';
import type { Target } from './check.js';

/** A host directory tree as a check target: one volume, no disk-level facts. */
export async function openTreeTarget(dir: string): Promise<Target> {
  const volume = await treeVolume(dir);
  return { source: { kind: 'tree', path: dir }, volumes: [volume], disk: null, close: async () => undefined };
}
