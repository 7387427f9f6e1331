import { InputError, type ErrorDetails } from '@xenkit/core';

/**
 * Every way a kernel file can be unusable. Codes are stable: image-check and scripts branch on them.
 * A kernel Xen would merely *refuse* is not an error — that is a verdict with reasons.
 */
export type KernelErrorCode =
  | 'E_KERNEL_UNKNOWN_FORMAT' // neither bzImage, whole-file gzip nor ELF
  | 'E_KERNEL_PAYLOAD_RANGE' // bzImage payload_offset/payload_length point outside the file
  | 'E_KERNEL_UNKNOWN_CODEC' // bzImage payload magic is none Xen knows
  | 'E_KERNEL_CORRUPT' // the compressed stream does not decode
  | 'E_KERNEL_TRUNCATED' // the stream ended before the bytes the ELF headers promise
  | 'E_KERNEL_OUTPUT_LIMIT' // decompressing would exceed maxOutputBytes (a decompression bomb)
  | 'E_KERNEL_NOT_ELF' // the unwrapped payload is not an ELF image
  | 'E_KERNEL_ELF_HEADER' // ELF header fields that no loader could use
  | 'E_KERNEL_ELF_RANGE' // program/section headers or note ranges past the end of the image
  | 'E_KERNEL_TOO_LARGE'; // the input file itself is larger than any kernel

export class KernelError extends InputError {
  constructor(code: KernelErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(code, message, { details, cause });
    this.name = 'KernelError';
  }
}
