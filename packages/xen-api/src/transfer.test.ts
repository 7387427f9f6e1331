import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferSource, RawSource } from '@xenkit/disk';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { connect, type Xapi } from './index.js';
import { chunkedLength, dataRuns, FRAME_DATA, ZERO_BLOCK } from './chunked.js';
import { MiniDb, seedPool, startMiniXapi, type MiniXapi } from './test-helpers/mini-xapi.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** The in-test server (test-helpers/mini-xapi.ts), not the lab host: what the lab serves is tested in lab.test.ts. */
async function mini(opts: Parameters<typeof startMiniXapi>[0] = {}, shared?: MiniDb) {
  const db = shared ?? new MiniDb();
  const refs = shared ? {} : seedPool(db);
  const srv = await startMiniXapi(opts, db);
  cleanup.push(() => srv.close());
  return Object.assign(srv, { refs });
}

async function client(srv: MiniXapi): Promise<Xapi> {
  const c = await connect({ url: srv.url, password: 'secret', transport: 'json-rpc', timeouts: { eventWait: 1 } });
  cleanup.push(() => c.close());
  return c;
}

function assembled(srv: MiniXapi, vdi: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (const [off, bytes] of srv.db.disks.get(vdi) ?? []) bytes.copy(out, off);
  return out;
}

/** A sparse raw image made by truncate(1) and dd(1): holes, a zero-filled block and data at odd places. */
function sparseImage(dir: string, size: number): Buffer {
  requireTools('truncate', 'dd');
  const path = join(dir, 'disk.raw');
  exec('truncate', ['-s', String(size), path]);
  const pieces: Array<[number, Buffer]> = [
    [0, Buffer.from('bootsector'.repeat(60))],
    [3 * ZERO_BLOCK + 17, Buffer.alloc(ZERO_BLOCK * 2, 0xab)],
    [size - 4096, Buffer.alloc(4096, 0x5a)],
  ];
  for (const [off, data] of pieces) {
    writeFileSync(join(dir, 'piece'), data);
    exec('dd', [`if=${join(dir, 'piece')}`, `of=${path}`, 'bs=1', `seek=${off}`, 'conv=notrunc', 'status=none']);
  }
  // an explicitly written all-zero block must not be sent either
  writeFileSync(join(dir, 'piece'), Buffer.alloc(ZERO_BLOCK));
  exec('dd', [`if=${join(dir, 'piece')}`, `of=${path}`, 'bs=65536', 'seek=10', 'conv=notrunc', 'status=none']);
  return readFileSync(path);
}

describe('importVdi', () => {
  it('sends only non-zero data of a sparse raw image with chunked framing and Content-Length', async () => {
    const dir = tempDir();
    cleanup.push(dir.cleanup);
    const size = 8 * FRAME_DATA;
    const expected = sparseImage(dir.path, size);
    const srv = await mini();
    const c = await client(srv);
    const source = await RawSource.open(join(dir.path, 'disk.raw'));
    cleanup.push(() => source.close());
    const vdi = (await c.VDI.create({ SR: srv.refs.sr as never, virtual_size: BigInt(size), type: 'user', sharable: false, read_only: false, other_config: {}, name_label: 'up' })) as string;
    const progress: number[] = [];
    await c.importVdi({ vdi, source, onProgress: (p) => progress.push(p.done) });
    expect(assembled(srv, vdi, size).equals(expected)).toBe(true);
    const sent = srv.imports[0]!;
    expect(sent.query.get('chunked')).toBe('true');
    expect(sent.query.get('format')).toBe('raw');
    expect(sent.headers['transfer-encoding']).toBeUndefined();
    const runs = await dataRuns(source);
    expect(Number(sent.headers['content-length'])).toBe(chunkedLength(runs));
    expect(sent.bytes).toBe(chunkedLength(runs));
    expect(sent.bytes).toBeLessThan(6 * ZERO_BLOCK); // of an 8 MiB disk
    expect(progress.at(-1)).toBe(sent.bytes);
    expect(srv.db.table('task').size).toBe(0);
  });

  it('follows a 302 to the host that sees the SR, keeping the query', async () => {
    const target = await mini();
    // two hosts of one pool: one database, sessions valid on both
    const front = await mini({ redirectTransfersTo: target.url }, target.db);
    const c = await client(front);
    target.sessions.set(await c.connection.sessionRef(), { originator: 'x' });
    const image = Buffer.alloc(ZERO_BLOCK * 3, 7);
    await c.importVdi({ vdi: target.refs.vdi!, source: new BufferSource(image) });
    expect(front.imports).toHaveLength(0);
    expect(target.imports).toHaveLength(1);
    expect(target.imports[0]!.query.get('vdi')).toBe(target.refs.vdi);
    expect(target.imports[0]!.query.get('task_id')).toMatch(/^OpaqueRef:/);
    expect(assembled(target, target.refs.vdi!, image.length).equals(image)).toBe(true);
  });

  it('follows the task the host announces in its task-id header', async () => {
    const srv = await mini({ ignoreTaskId: true });
    const c = await client(srv);
    const image = Buffer.alloc(ZERO_BLOCK, 9);
    await c.importVdi({ vdi: srv.refs.vdi!, source: new BufferSource(image) });
    expect(assembled(srv, srv.refs.vdi!, image.length).equals(image)).toBe(true);
  });

  it('fails with a transport error when the socket drops mid-transfer, and cancels the task', async () => {
    const srv = await mini({ dropImportAfter: 200_000 });
    const c = await client(srv);
    const image = Buffer.alloc(4 * FRAME_DATA, 1);
    await expect(c.importVdi({ vdi: srv.refs.vdi!, source: new BufferSource(image) })).rejects.toMatchObject({ code: 'E_XAPI_TRANSPORT' });
    expect(srv.db.table('task').size).toBe(0);
  });

  it('stops on AbortSignal', async () => {
    const srv = await mini();
    const c = await client(srv);
    const ac = new AbortController();
    const image = Buffer.alloc(16 * FRAME_DATA, 3);
    const p = c.importVdi({ vdi: srv.refs.vdi!, source: new BufferSource(image), signal: ac.signal, onProgress: (x) => x.done > FRAME_DATA && ac.abort() });
    await expect(p).rejects.toMatchObject({ code: 'E_XAPI_ABORTED' });
  });
});

describe('exportVdi', () => {
  it('streams a VDI to a file', async () => {
    const srv = await mini();
    const c = await client(srv);
    const image = Buffer.alloc(1_048_576);
    image.write('hello', 1000);
    srv.db.disks.set(srv.refs.vdi!, new Map([[0, image]]));
    const dir = tempDir();
    cleanup.push(dir.cleanup);
    const out = join(dir.path, 'out.raw');
    let last = 0;
    await c.exportVdi({ vdi: srv.refs.vdi!, file: out, onProgress: (p) => (last = p.done) });
    expect(readFileSync(out).equals(image)).toBe(true);
    expect(last).toBe(image.length);
  });
});
