import { createRequire } from 'node:module';
import type { BlockSource } from '../block/types.js';

// libext2fs (the ext2fs package's WASM build): loading it without touching the host's process-wide error
// handlers, replacing an instance after a WASM abort, the read-only disk object it is given, and the
// text of the error numbers its mount reports.

// ext2fs is CommonJS without types; this is the slice of its node-fs-like API we use.
export interface Ext2Stats {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs?: number;
  mtime?: Date;
  ino: number;
  nlink: number;
}
interface Ext2Promises {
  lstat(path: string): Promise<Ext2Stats>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(fd: number): Promise<void>;
}
export interface Ext2Fs {
  promises: Ext2Promises;
  open(path: string, flags: number, mode: number, cb: (err: Error | null, fd: number) => void): void;
}
export interface Ext2Module {
  mount(disk: unknown, offset?: number): Promise<Ext2Fs>;
  umount(fs: Ext2Fs): Promise<void>;
}
const require = createRequire(import.meta.url);
let ext2fsModule: Ext2Module | undefined;

/**
 * The libext2fs module. A WASM abort (out of its fixed heap, an assertion) leaves the instance
 * unusable for good, so after one the module is loaded afresh — a new instance, a new heap — for the
 * next filesystem; the aborted one only ever fails with a coded error.
 */
export function ext2fs(): Ext2Module {
  ext2fsModule ??= loadWithoutGlobalHandlers();
  return ext2fsModule;
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

// The Emscripten glue inside ext2fs installs process-wide handlers that rethrow every uncaught error
// and unhandled rejection — in any part of the host program — and print the whole minified module
// with them. A library must not change how its host process handles errors, so remove what it added.
function loadWithoutGlobalHandlers(): Ext2Module {
  const emitter = process as NodeJS.EventEmitter;
  const before = new Map(PROCESS_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
  // A host that keeps compiled code between runs (the xenkit CLI's loader) may preload the big glue file.
  const preload = (globalThis as Record<symbol, unknown>)[Symbol.for('xenkit.preload')];
  if (typeof preload === 'function') {
    try {
      preload(require.resolve('ext2fs/lib/libext2fs.js'));
    } catch {
      // Only an optimisation: require() below loads it the ordinary way.
    }
  }
  const module = require('ext2fs') as Ext2Module;
  for (const event of PROCESS_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return module;
}

export function isAbort(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'RuntimeError' || /abort/i.test(String((e as Error | undefined)?.message ?? ''));
}

export const abortedModules = new WeakSet<Ext2Module>();

export function discardAbortedModule(module: Ext2Module): void {
  abortedModules.add(module);
  if (ext2fsModule !== module) return;
  const dir = require.resolve('ext2fs').replace(/index\.js$/, '');
  for (const key of Object.keys(require.cache)) if (key.startsWith(dir)) delete require.cache[key];
  ext2fsModule = undefined;
}

/**
 * The disk object libext2fs is given. libext2fs opens filesystems read-write, so this object is what
 * makes the view read-only: every write, discard or flush that would change the image is refused
 * (libext2fs sees EIO) and counted, and nothing is ever written to the source.
 */
export class ReadOnlyDisk {
  refusedWrites = 0;
  constructor(private readonly source: BlockSource) {}

  async read(buffer: Uint8Array, bufferOffset: number, length: number, fileOffset: number): Promise<{ bytesRead: number; buffer: Uint8Array }> {
    const bytes = await this.source.read(fileOffset, length);
    buffer.set(bytes, bufferOffset);
    return { bytesRead: length, buffer };
  }
  async write(): Promise<never> {
    this.refusedWrites++;
    throw new Error('read-only view: write refused');
  }
  async discard(): Promise<never> {
    this.refusedWrites++;
    throw new Error('read-only view: discard refused');
  }
  async flush(): Promise<void> {}
}

/**
 * com_err texts of the libext2fs codes a mount of a damaged or unusual image fails with (EXT2_ET_BASE
 * 2133571328 + n, lib/ext2fs/ext2_err.et.in); the glue reports only the number. The bundled build
 * uses 32-bit ("legacy") bitmaps, so it refuses bigalloc, and it fails 64 KiB-block ext4 on its
 * block bitmap checksum although e2fsck 1.47 passes such a filesystem.
 */
export const LIBEXT2FS_ERRORS: Record<number, string> = {
  2133571347: 'bad magic number in super-block',
  2133571352: 'corrupt group descriptor: bad block for block bitmap',
  2133571353: 'corrupt group descriptor: bad block for inode bitmap',
  2133571354: 'corrupt group descriptor: bad block for inode table',
  2133571364: 'short read',
  2133571388: 'the superblock is corrupt',
  2133571395: 'unsupported feature(s)',
  2133571396: 'unsupported read-only feature(s)',
  2133571465: 'too large for the legacy bitmaps this libext2fs build uses (bigalloc?)',
  2133571475: 'inode bitmap checksum does not match',
  2133571480: 'superblock checksum does not match',
  2133571484: 'block bitmap checksum does not match (or 64 KiB blocks, which this libext2fs build misreads)',
};

