import { InputError } from '@xenkit/core';

/**
 * A disk image that cannot be read as what it claims to be. Codes are stable; details always name the
 * image (`path`) and, where it applies, the offending offset or field.
 */
export class DiskError extends InputError {
  constructor(code: string, message: string, details: { path: string; [k: string]: unknown }) {
    super(code, message, { details });
    this.name = 'DiskError';
  }
}
