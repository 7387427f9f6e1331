// The reference implementation's internals, used only by the differential tests and benchmarks.
declare module 'xmlrpc/lib/serializer.js' {
  const serializer: {
    serializeMethodCall(method: string, params: unknown[]): string;
    serializeMethodResponse(value: unknown): string;
  };
  export default serializer;
}
declare module 'xmlrpc/lib/deserializer.js' {
  import type { Readable } from 'node:stream';
  class Deserializer {
    deserializeMethodCall(stream: Readable, cb: (err: unknown, method: string, params: unknown[]) => void): void;
    deserializeMethodResponse(stream: Readable, cb: (err: unknown, value: unknown) => void): void;
  }
  export default Deserializer;
}
