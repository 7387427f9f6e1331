export { connect, XapiClient, type Xapi } from './xapi.js';
export type { ConnectOptions } from './client.js';
export type { TlsOptions, HttpTimeouts } from './http.js';
export type { TransportKind } from './rpc.js';
export { XapiError, XapiProtocolError, XapiConfigError, isXapiError, isTransportFailure, type XapiProtocolCode } from './errors.js';
export { EventStream, type EventOptions } from './events.js';
export { decodeTaskResult, type TaskOptions } from './tasks.js';
export type { ImportVdiOptions, ExportVdiOptions, TransferOptions, TransferProgress } from './transfer.js';
export { XmlRpcDecoder, decodeXmlRpc, type XmlRpcMessage } from './wire/xmlrpc-decode.js';
export { encodeXmlRpcCall, encodeXmlRpcValue } from './wire/xmlrpc-encode.js';
export { parseJsonLossless } from './wire/json.js';
export { parseXapiDate, formatXapiDate } from './wire/datetime.js';
export { FRAME_HEADER, chunkedLength, dataRuns, chunkedFrames } from './chunked.js';
export * from './generated/types.generated.js';
export type * from './generated/api.generated.js';
export {
  resolveObject,
  toPlain,
  domainTypeOf,
  listHosts,
  listVms,
  listSrs,
  listVdis,
  showVm,
  importImage,
  exportImage,
  callMethod,
  type HostRow,
  type VmRow,
  type SrRow,
  type VdiRow,
  type ImportResult,
} from './ops.js';
export { openUploadImage, type UploadImage } from './image.js';
/** XAPI's null reference: what an unset ref field holds, on both transports. */
export const NULL_REF = 'OpaqueRef:NULL';
