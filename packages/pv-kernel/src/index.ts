export { analyzeKernel, bannerVersion, type AnalyzeOptions, type KernelAnalysis, type KernelInput } from './analyze.js';
export { KernelError, type KernelErrorCode } from './errors.js';
export { XEN_NOTES, type XenNote, type NoteKind } from './notes.js';
export type { XenVerdict } from './xen.js';
export type { Codec } from './codecs/index.js';
export {
  evaluateKernelEvidence,
  guideVerdict,
  parseRelease,
  type EvidenceInput,
  type EvidenceSignal,
  type GuideVerdict,
  type KernelEvidence,
} from './guide.js';
export type { FileInFilesystem, FileInImage } from './analyze.js';
export { locateFileInImage, diskImageKind, type ImageKernelSource, type LocatedFile, type LocateOptions } from './in-image.js';
