export {
  XenkitError,
  InputError,
  UsageError,
  OperationError,
  isXenkitError,
  exitStatusFor,
  toXenkitError,
  type ErrorCategory,
  type ErrorDetails,
  type XenkitErrorOptions,
} from './errors.js';
export { silentLogger, redactSecrets, redactText, SECRET_KEYS, type Logger, type LogFn } from './logger.js';
