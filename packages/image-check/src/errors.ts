import { InputError, UsageError } from '@xenkit/core';

export type ImageCheckErrorCode = 'E_NO_OS' | 'E_UNKNOWN_CHECK' | 'E_TARGET_AMBIGUOUS' | 'E_OS_NOT_FOUND' | 'E_PACKAGE_DB_TOO_LARGE';

/** The image or tree holds nothing xenkit can inspect (no Linux root found). */
export class ImageCheckInputError extends InputError {
  override readonly code: ImageCheckErrorCode;
  constructor(code: ImageCheckErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
    this.code = code;
    this.name = 'ImageCheckInputError';
  }
}

/** `--only`/`--skip` named a check that does not exist. */
export class ImageCheckUsageError extends UsageError {
  override readonly code: ImageCheckErrorCode;
  constructor(code: ImageCheckErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
    this.code = code;
    this.name = 'ImageCheckUsageError';
  }
}
