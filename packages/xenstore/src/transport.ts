import { closeSync, constants, existsSync, openSync, read, statSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { OperationError } from '@xenkit/core';
import { HEADER_SIZE, XENSTORE_PAYLOAD_MAX } from './wire.js';

/** A byte pipe to xenstored: the xenbus device in a guest, or xenstored's unix socket. */
export interface Transport {
  readonly description: string;
  /** Sends one whole message; the xenbus driver needs a message in a single write(). */
  write(message: Buffer): void;
  onData(handler: (chunk: Buffer) => void): void;
  onClose(handler: (error?: Error) => void): void;
  close(): void;
}

/** Where a guest finds xenstore, in the order the kernel and tools offer it. */
export const DEVICE_PATHS = ['/dev/xen/xenbus', '/proc/xen/xenbus'] as const;
export const DEFAULT_SOCKET_PATHS = ['/run/xenstored/socket', '/var/run/xenstored/socket'] as const;

/**
 * Pick the xenstore endpoint: an explicit path, then `XENSTORED_PATH` (as libxenstore honours it),
 * then the xenbus devices, then xenstored's socket.
 */
export function findEndpoint(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (env.XENSTORED_PATH) return env.XENSTORED_PATH;
  for (const p of [...DEVICE_PATHS, ...DEFAULT_SOCKET_PATHS]) if (existsSync(p)) return p;
  throw new OperationError('E_XS_NO_ENDPOINT', `no xenstore found: none of ${[...DEVICE_PATHS, ...DEFAULT_SOCKET_PATHS].join(', ')} exists (is this a Xen guest with xenfs mounted? set XENSTORED_PATH for a socket)`, {
    details: { tried: [...DEVICE_PATHS, ...DEFAULT_SOCKET_PATHS] },
  });
}

export function openSocket(path: string): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(path);
    const fail = (e: Error): void =>
      reject(new OperationError('E_XS_CONNECT', `cannot connect to xenstore socket ${path}: ${e.message}`, { details: { path }, cause: e }));
    sock.once('error', fail);
    sock.once('connect', () => {
      sock.off('error', fail);
      resolve({
        description: path,
        write: (m) => void sock.write(m),
        onData: (h) => void sock.on('data', h),
        onClose: (h) => {
          let err: Error | undefined;
          sock.on('error', (e) => (err = e));
          sock.on('close', () => h(err));
        },
        close: () => sock.destroy(),
      });
    });
  });
}

/**
 * The xenbus character device. Reads block in the kernel until a reply or watch event is queued, so
 * they run on one libuv pool thread in a loop; writes are synchronous and whole-message, as the
 * driver requires.
 */
export function openDevice(path: string): Transport {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY);
  } catch (e) {
    throw new OperationError('E_XS_CONNECT', `cannot open xenbus device ${path}: ${(e as Error).message}`, { details: { path }, cause: e });
  }
  let closed = false;
  let dataHandler: (chunk: Buffer) => void = () => undefined;
  let closeHandler: (error?: Error) => void = () => undefined;
  const buf = Buffer.alloc(HEADER_SIZE + XENSTORE_PAYLOAD_MAX);
  const loop = (): void => {
    read(fd, buf, 0, buf.length, null, (err, n) => {
      if (closed) return;
      if (err || n === 0) {
        closed = true;
        closeHandler(err ?? undefined);
        return;
      }
      dataHandler(Buffer.from(buf.subarray(0, n)));
      loop();
    });
  };
  // Start reading only once someone listens, so no bytes are dropped.
  return {
    description: path,
    write: (m) => {
      if (writeSync(fd, m) !== m.length) throw new OperationError('E_XS_SHORT_WRITE', `short write to ${path}`, { details: { path } });
    },
    onData: (h) => {
      dataHandler = h;
      loop();
    },
    onClose: (h) => (closeHandler = h),
    close: () => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
}

/** A unix socket is xenstored's; anything else (the xenbus character device, xenfs's file) is a device. */
export async function openTransport(endpoint: string): Promise<Transport> {
  let isSocket = false;
  try {
    isSocket = statSync(endpoint).isSocket();
  } catch {
    // Missing: let the open below report it with a coded error.
  }
  return isSocket ? openSocket(endpoint) : openDevice(endpoint);
}
