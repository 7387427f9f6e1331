// The npm `xen-api` client ships no types; the suite only needs its constructor.
declare module 'xen-api' {
  export function createClient(options: Record<string, unknown>): unknown;
}
