import { InputError } from '@xenkit/core';

export type FsErrorCode =
  | 'E_FS_NOT_FOUND'
  | 'E_FS_NOT_DIRECTORY'
  | 'E_FS_IS_DIRECTORY'
  | 'E_FS_NOT_SYMLINK'
  | 'E_FS_SYMLINK_LOOP'
  | 'E_FS_TOO_LARGE'
  | 'E_FS_BAD_PATH'
  | 'E_FS_BAD_RANGE'
  | 'E_FS_CORRUPT';

/** A path inside a filesystem view that cannot be read as asked. */
export class FsError extends InputError {
  override readonly code: FsErrorCode;
  constructor(code: FsErrorCode, message: string, details: { path: string; fs: string; [k: string]: unknown }) {
    super(code, message, { details });
    this.code = code;
    this.name = 'FsError';
  }
}
