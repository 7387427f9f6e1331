import { InputError, OperationError, UsageError, type ErrorDetails } from '@xenkit/core';

/**
 * Every code this package throws. Input errors (exit 2) mean the nova.conf, the instances directory or
 * an instance disk is unusable; usage errors (exit 2) mean the caller's overrides are wrong; operation
 * errors (exit 1) mean a removal or an fallocate was refused by the system.
 */
export type CacheErrorCode =
  | 'E_NOVA_CONF_READ'
  | 'E_NOVA_CONF_PARSE'
  | 'E_NOVA_CONF_VALUE'
  | 'E_NOVA_CONF_SUBSTITUTION'
  | 'E_CACHE_SET_SYNTAX'
  | 'E_CACHE_SET_UNKNOWN'
  | 'E_CACHE_IMAGE_ID'
  | 'E_CACHE_DIR_MISSING'
  | 'E_CACHE_DIR_UNREADABLE'
  | 'E_CACHE_DISK_UNREADABLE'
  | 'E_CACHE_BACKING_CHAIN'
  | 'E_CACHE_REMOVE_FAILED'
  | 'E_CACHE_FALLOCATE_FAILED';

export function inputError(code: CacheErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown): InputError {
  return new InputError(code, message, { details, cause });
}

export function usageError(code: CacheErrorCode, message: string, details: ErrorDetails = {}): UsageError {
  return new UsageError(code, message, { details });
}

export function operationError(
  code: CacheErrorCode,
  message: string,
  details: ErrorDetails = {},
  cause?: unknown,
): OperationError {
  return new OperationError(code, message, { details, cause });
}

/** The errno of a Node system error, or undefined. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
