import { runChecks } from '../check.js';
import type { CheckResult } from '../checks/types.js';
import { openTreeTarget } from '../target.js';
import { writeTree, type TreeSpec } from './trees.js';

/** Write `spec` as a fresh tree under `root` and run one check on it; the result carries the tree's path. */
export function treeChecker(root: string): (spec: TreeSpec, id: string) => Promise<CheckResult & { dir: string }> {
  let n = 0;
  return async (spec, id) => {
    const dir = writeTree(`${root}/c${n++}`, spec);
    const report = await runChecks(await openTreeTarget(dir), { only: [id] });
    const r = report.checks[0];
    if (!r) throw new Error(`no result for ${id}`);
    return { ...r, dir };
  };
}
