import { analyzeKernel } from '@xenkit/pv-kernel';
import type { KernelAnalyzer } from './checks/types.js';

/** The pv-kernel package as the pv-kernel check's analyzer: Xen's own PV acceptance rules. */
export const pvKernelAnalyzer: KernelAnalyzer = async (fs, path) => {
  const a = await analyzeKernel({ fs, path }, { name: path });
  return {
    ...(a.version ? { version: a.version } : {}),
    pv: a.verdict.pv,
    pvh: a.verdict.pvh,
    reasons: a.verdict.reasons,
  };
};
