export { XenstoreClient, type XenstoreClientOptions, type WatchEvent } from './client.js';
export { XenstoreServer, DEFAULT_QUOTAS, type XenstoreQuotas, type XenstoreServerOptions } from './server.js';
export { findEndpoint, DEVICE_PATHS, DEFAULT_SOCKET_PATHS, type Transport } from './transport.js';
export {
  XsType,
  XS_ERRORS,
  HEADER_SIZE,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_ABS_PATH_MAX,
  XENSTORE_REL_PATH_MAX,
  XenstoreError,
  XenstoreProtocolError,
  MessageReader,
  encodeMessage,
  isValidPath,
  typeName,
  type XsMessage,
  type XsPerm,
  type XsTypeName,
  type XsErrno,
} from './wire.js';
