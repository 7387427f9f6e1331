import { createRequire } from 'node:module';
import { KernelError } from '../errors.js';

/**
 * bzip2 through seek-bzip (pure JS, MIT, no install scripts). Its public decode() runs a whole stream in
 * one call, so we drive its block loop ourselves (the same two calls decode() makes per block) to yield
 * after every block (at most ~900 kB of BWT input) and stop as soon as the ELF parser has what it needs.
 */
interface BunzipInstance {
  _init_block(): boolean;
  _read_bunzip(): void;
  reader: { read(bits: number): number };
  streamCRC: number;
}
type BunzipCtor = new (input: unknown, output: unknown) => BunzipInstance;

const require = createRequire(import.meta.url);
let Bunzip: BunzipCtor | undefined;

class Sink {
  buf = new Uint8Array(1 << 20);
  pos = 0;
  writeByte(b: number): void {
    if (this.pos === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.pos++] = b;
  }
  write(buffer: Uint8Array, off: number, len: number): number {
    for (let i = 0; i < len; i++) this.writeByte(buffer[off + i] as number);
    return len;
  }
  flush(): void {}
}

export function* bunzip2(input: Uint8Array, label: string): Generator<Uint8Array> {
  Bunzip ??= require('seek-bzip') as BunzipCtor;
  let pos = 0;
  const truncated = (): never => {
    throw new KernelError('E_KERNEL_TRUNCATED', `${label}: the bzip2 stream ends early (truncated payload)`);
  };
  const source = {
    readByte: (): number => (pos < input.length ? (input[pos++] as number) : truncated()),
    read(buffer: Uint8Array, off: number, len: number): number {
      const n = Math.min(len, input.length - pos);
      if (n <= 0) return -1;
      buffer.set(input.subarray(pos, pos + n), off);
      pos += n;
      return n;
    },
    seek: (p: number): void => void (pos = p),
    eof: (): boolean => pos >= input.length,
  };
  const sink = new Sink();
  const bz = new Bunzip(source, sink);
  while (bz._init_block()) {
    sink.pos = 0;
    bz._read_bunzip();
    yield sink.buf.subarray(0, sink.pos);
  }
  const crc = bz.reader.read(32) >>> 0;
  if (crc !== bz.streamCRC >>> 0) {
    throw new KernelError('E_KERNEL_CORRUPT', `${label}: bzip2 stream CRC mismatch`);
  }
}
