import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { XenstoreClient } from './client.js';
import { XenstoreServer } from './server.js';
import { XsType, encodeMessage } from './wire.js';

describe('XenstoreServer.listen', () => {
  it('refuses to replace a regular file or a directory, which survive', async () => {
    const dir = tempDir('xenkit-xslisten-');
    const file = join(dir.path, 'precious');
    writeFileSync(file, 'keep me');
    const server = new XenstoreServer();
    await expect(server.listen(file)).rejects.toMatchObject({ code: 'E_XS_LISTEN_PATH' });
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    const sub = join(dir.path, 'sub');
    mkdirSync(sub);
    await expect(server.listen(sub)).rejects.toMatchObject({ code: 'E_XS_LISTEN_PATH' });
    expect(existsSync(sub)).toBe(true);
    await server.close();
    dir.cleanup();
  });

  it('replaces a stale socket left by an earlier run', async () => {
    const dir = tempDir('xenkit-xslisten-');
    const sock = join(dir.path, 'xs.sock');
    // A socket inode with no listener, as a crashed server leaves it.
    requireTools('python3');
    exec('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', sock]);
    expect(lstatSync(sock).isSocket()).toBe(true);
    const server = new XenstoreServer();
    await server.listen(sock);
    const c = await XenstoreClient.open({ path: sock });
    await c.write('/x', '1');
    expect(await c.read('/x')).toBe('1');
    c.close();
    await server.close();
    dir.cleanup();
  });
});

describe('XenstoreServer quotas (guest domains only, as xenstored)', () => {
  async function setup(options: ConstructorParameters<typeof XenstoreServer>[0]) {
    const dir = tempDir('xenkit-xsquota-');
    const server = new XenstoreServer(options);
    await server.listen(join(dir.path, 'dom0.sock'), 0);
    await server.listen(join(dir.path, 'dom5.sock'), 5);
    const dom0 = await XenstoreClient.open({ path: join(dir.path, 'dom0.sock') });
    const guest = await XenstoreClient.open({ path: join(dir.path, 'dom5.sock') });
    const guest2 = await XenstoreClient.open({ path: join(dir.path, 'dom5.sock') });
    return {
      server,
      dom0,
      guest,
      guest2,
      done: async () => {
        for (const c of [dom0, guest, guest2]) c.close();
        await server.close();
        dir.cleanup();
      },
    };
  }

  it('entries per domain (-E): the guest gets ENOSPC at the limit, dom0 never', async () => {
    const t = await setup({ quotas: { entriesPerDomain: 4 } });
    // The guest owns its home node /local/domain/5: three more nodes reach the limit.
    for (const k of ['a', 'b', 'c']) await t.guest.write(k, '1');
    await expect(t.guest.write('d', '1')).rejects.toMatchObject({ errno: 'ENOSPC' });
    await expect(t.guest.mkdir('a/deeper')).rejects.toMatchObject({ errno: 'ENOSPC' });
    expect(await t.dom0.directory('/local/domain/5')).toEqual(['a', 'b', 'c']); // nothing half-created
    await t.guest.write('a', 'overwrite is not a new node');
    await t.guest.rm('b');
    await t.guest.write('d', '1');
    for (let i = 0; i < 10; i++) await t.dom0.write(`/dom0/n${i}`, '1');
    // dom0 handing a node to the guest counts against the guest's quota only when the guest asks.
    await t.dom0.write('/local/domain/5/from-dom0', '1');
    await t.dom0.setPerms('/local/domain/5/from-dom0', [{ domid: 5, perm: 'n' }]);
    await expect(t.guest.write('e', '1')).rejects.toMatchObject({ errno: 'ENOSPC' });
    await t.done();
  });

  it('entry size (-S): a guest value over the limit is refused, dom0 may write it', async () => {
    const t = await setup({ quotas: { entrySize: 100 } });
    await t.guest.write('ok', 'x'.repeat(100));
    await expect(t.guest.write('big', 'x'.repeat(101))).rejects.toMatchObject({ errno: 'ENOSPC' });
    expect(await t.guest.tryRead('big')).toBeUndefined();
    await t.dom0.write('/local/domain/5/big', 'x'.repeat(3000));
    await t.done();
  });

  it('watches per domain (-W) count every connection of the domain; E2BIG, or EQUOTA like oxenstored', async () => {
    for (const [style, errno] of [
      ['xenstored', 'E2BIG'],
      ['oxenstored', 'EQUOTA'],
    ] as const) {
      const t = await setup({ quotas: { watchesPerDomain: 3 }, quotaErrors: style });
      await t.guest.watch('a', 't1', () => undefined);
      await t.guest.watch('b', 't2', () => undefined);
      await t.guest2.watch('c', 't3', () => undefined);
      await expect(t.guest2.watch('d', 't4', () => undefined)).rejects.toMatchObject({ errno });
      await t.guest.unwatch('a', 't1');
      await t.guest2.watch('d', 't4', () => undefined);
      for (let i = 0; i < 10; i++) await t.dom0.watch(`/w${i}`, `d${i}`, () => undefined);
      await t.done();
    }
  });

  it('transactions per domain (-t) count every connection of the domain', async () => {
    const t = await setup({ quotas: { transactionsPerDomain: 2 } });
    const t1 = await t.guest.transactionStart();
    await t.guest2.transactionStart();
    await expect(t.guest.transactionStart()).rejects.toMatchObject({ errno: 'ENOSPC' });
    await t.guest.transactionEnd(t1, false);
    await t.guest.transactionStart();
    for (let i = 0; i < 5; i++) await t.dom0.transactionStart();
    expect(t.server.stats().openTransactions).toBe(7);
    await t.done();
  });

  it('a transaction touches at most transactionNodes nodes, and costs nothing to start on a big tree', async () => {
    const t = await setup({ quotas: { transactionNodes: 8 } });
    for (let i = 0; i < 2000; i++) await t.dom0.write(`/big/n${i}`, String(i));
    const tx = await t.dom0.transactionStart();
    for (let i = 0; i < 8; i++) await t.dom0.read(`/big/n${i}`, tx);
    await expect(t.dom0.read('/big/n8', tx)).rejects.toMatchObject({ errno: 'ENOSPC' });
    await t.dom0.transactionEnd(tx, false);
    // A commit still sees the whole tree.
    await t.dom0.transaction(async (x) => t.dom0.write('/big/n1999', 'changed', x));
    expect(await t.dom0.read('/big/n1999')).toBe('changed');
    expect(await t.dom0.read('/big/n0')).toBe('0');
    await t.done();
  });

  it('keeps change history only as far back as the oldest open transaction', async () => {
    const t = await setup({});
    // Transactions overlap in turn, so one is always open; writes between them touch new paths.
    let open = await t.dom0.transactionStart();
    for (let round = 0; round < 20; round++) {
      const next = await t.dom0.transactionStart();
      for (let i = 0; i < 10; i++) await t.dom0.write(`/log/r${round}/p${i}`, '1');
      await t.dom0.transactionEnd(open, false);
      open = next;
    }
    // Only the last round's writes (and their new parent) are newer than the open transaction.
    expect(t.server.stats().changeLogEntries).toBeLessThanOrEqual(12);
    await t.dom0.transactionEnd(open, false);
    expect(t.server.stats().changeLogEntries).toBe(0);
    await t.done();
  });

  it('a transaction left open by a closed connection does not pin history', async () => {
    const t = await setup({});
    await t.guest.transactionStart();
    await t.dom0.write('/pinned/a', '1');
    expect(t.server.stats().changeLogEntries).toBeGreaterThan(0);
    t.guest.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(t.server.stats()).toMatchObject({ openTransactions: 0, changeLogEntries: 0 });
    await t.done();
  });
});

describe('XenstoreServer backpressure', () => {
  it('stops reading a connection whose replies back up, and resumes when it reads', async () => {
    const dir = tempDir('xenkit-xsbp-');
    const sock = join(dir.path, 'xs.sock');
    const server = new XenstoreServer();
    await server.listen(sock);
    const c = await XenstoreClient.open({ path: sock });
    await c.write('/big', 'x'.repeat(4000));
    const { connect } = await import('node:net');
    const raw = connect(sock);
    await new Promise((r) => raw.once('connect', r));
    raw.pause(); // a client that sends and never reads
    const read = encodeMessage({ type: XsType.READ, reqId: 1, txId: 0, payload: Buffer.from('/big\0') });
    // 3000 replies of 4 KB (12 MB) then a write the server reaches only if it kept reading.
    raw.write(Buffer.concat([...Array.from({ length: 3000 }, () => read), encodeMessage({ type: XsType.WRITE, reqId: 2, txId: 0, payload: Buffer.from('/marker\0set') })]));
    await new Promise((r) => setTimeout(r, 300));
    expect(await c.tryRead('/marker')).toBeUndefined();
    raw.resume();
    raw.on('data', () => undefined);
    const deadline = Date.now() + 10_000;
    while ((await c.tryRead('/marker')) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await c.read('/marker')).toBe('set');
    raw.destroy();
    c.close();
    await server.close();
    dir.cleanup();
  });
});
