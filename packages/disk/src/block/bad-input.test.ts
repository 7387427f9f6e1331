import { linkSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { silentLogger, type Logger } from '@xenkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDisk } from './open.js';
import { readImageHeader } from './header.js';
import { mutated, resealVhd, truncated } from './test-helpers/mutate.js';
import { writeBaseRaw } from './test-helpers/content.js';

/** Opening (and reading all of) the image fails with `code`, and the message names the image. */
async function expectRefused(path: string, code: string, named = path.split('/').pop() as string): Promise<void> {
  const err = await (async () => {
    const d = await openDisk(path);
    try {
      await d.extents();
      for (let off = 0; off < d.size; off += 1 << 22) await d.read(off, Math.min(1 << 22, d.size - off));
    } finally {
      await d.close();
    }
  })().catch((e: unknown) => e);
  expect(err, `${named} should be refused`).toMatchObject({ code, category: 'input' });
  expect((err as Error).message).toContain(named);
}

describe('bad images give coded errors naming the image', () => {
  const tmp = tempDir('xenkit-bad-');
  const p = (n: string): string => join(tmp.path, n);
  beforeAll(() => {
    requireTools('qemu-img', 'qemu-io');
    writeBaseRaw(p('base.raw'));
    const q = (...args: string[]): void => void exec('qemu-img', args);
    q('convert', '-O', 'qcow2', '-o', 'cluster_size=4096', p('base.raw'), p('good.qcow2'));
    q('convert', '-c', '-O', 'qcow2', p('base.raw'), p('zlib.qcow2'));
    q('convert', '-O', 'vpc', '-o', 'subformat=dynamic', p('base.raw'), p('good.vhd'));
    q('convert', '-O', 'vpc', '-o', 'subformat=fixed', p('base.raw'), p('fixed.vhd'));
    // Legacy AES: creating LUKS makes qemu time PBKDF2 on the CPU, which fails on a loaded machine.
    q('create', '-q', '-f', 'qcow2', '--object', 'secret,id=s0,data=xenkit', '-o', 'encrypt.format=aes,encrypt.key-secret=s0', p('aes-real.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-o', `data_file=${p('ext.data')}`, p('extdata.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on', p('extl2.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-u', '-b', 'loop-b.qcow2', '-F', 'qcow2', p('loop-a.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-u', '-b', 'loop-a.qcow2', '-F', 'qcow2', p('loop-b.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-u', '-b', 'missing.qcow2', '-F', 'qcow2', p('orphan.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-u', '-b', 'base.raw', '-F', 'vmdk', p('vmdk-backed.qcow2'), '1M');
    q('create', '-q', '-f', 'qcow2', '-b', 'good.qcow2', '-F', 'qcow2', p('mid.qcow2'));
    q('create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', p('top.qcow2'));
  });
  afterAll(() => tmp.cleanup());

  it('qcow2 refusals made by qemu-img itself: encryption, external data file, extended L2', async () => {
    await expectRefused(p('aes-real.qcow2'), 'E_QCOW2_ENCRYPTED');
    await expectRefused(p('extdata.qcow2'), 'E_QCOW2_EXTERNAL_DATA');
    await expectRefused(p('extl2.qcow2'), 'E_QCOW2_UNSUPPORTED');
  });

  it('qcow2 header damage', async () => {
    const g = p('good.qcow2');
    await expectRefused(truncated(g, p('short.qcow2'), 40), 'E_QCOW2_TRUNCATED');
    await expectRefused(truncated(g, p('cut.qcow2'), 4096 * 3), 'E_DISK_PAST_EOF');
    await expectRefused(mutated(g, p('ver.qcow2'), (b) => void b.writeUInt32BE(7, 4)), 'E_QCOW2_BAD_VERSION');
    await expectRefused(mutated(g, p('cbits.qcow2'), (b) => void b.writeUInt32BE(31, 20)), 'E_QCOW2_BAD_HEADER');
    await expectRefused(mutated(g, p('huge.qcow2'), (b) => void b.writeBigUInt64BE(1n << 62n, 24)), 'E_QCOW2_TOO_LARGE');
    await expectRefused(mutated(g, p('bigsize.qcow2'), (b) => void b.writeBigUInt64BE(1n << 50n, 24)), 'E_QCOW2_BAD_HEADER');
    await expectRefused(mutated(g, p('luks.qcow2'), (b) => void b.writeUInt32BE(2, 32)), 'E_QCOW2_ENCRYPTED');
    await expectRefused(mutated(g, p('feat.qcow2'), (b) => void b.writeBigUInt64BE(1n << 10n, 72)), 'E_QCOW2_UNKNOWN_FEATURE');
    await expectRefused(mutated(g, p('l1.qcow2'), (b) => void b.writeBigUInt64BE(1n << 40n, 40)), 'E_DISK_PAST_EOF');
    await expectRefused(mutated(g, p('rc.qcow2'), (b) => void b.writeBigUInt64BE(1n << 40n, 48)), 'E_DISK_PAST_EOF');
    // A wrong magic is not a qcow2 at all: it opens as raw, which is what qemu's probe would say too.
    const wrong = await readImageHeader(mutated(g, p('magic.qcow2'), (b) => void b.writeUInt32BE(0x51464900, 0)));
    expect(wrong.format).toBe('raw');
  });

  it('qcow2 L1/L2 entries past EOF, unaligned, and broken compressed data', async () => {
    const g = p('good.qcow2');
    const l1 = (b: Buffer): number => Number(b.readBigUInt64BE(40));
    const l2 = (b: Buffer): number => Number(b.readBigUInt64BE(l1(b)) & 0x00fffffffffffe00n);
    await expectRefused(mutated(g, p('l1e.qcow2'), (b) => void b.writeBigUInt64BE((1n << 63n) | (1n << 45n), l1(b))), 'E_DISK_PAST_EOF');
    await expectRefused(mutated(g, p('l1u.qcow2'), (b) => void b.writeBigUInt64BE(BigInt(l2(b) + 512), l1(b))), 'E_QCOW2_CORRUPT');
    await expectRefused(mutated(g, p('l2e.qcow2'), (b) => void b.writeBigUInt64BE((1n << 63n) | (1n << 45n), l2(b))), 'E_QCOW2_CORRUPT');
    await expectRefused(mutated(g, p('l2u.qcow2'), (b) => void b.writeBigUInt64BE(4096n + 512n, l2(b))), 'E_QCOW2_CORRUPT');
    await expectRefused(
      mutated(p('zlib.qcow2'), p('zbad.qcow2'), (b) => {
        // The first compressed cluster (bit 62); with 64 KiB clusters the host offset is bits 0..53.
        const t = l2(b);
        let i = 0;
        while (i < 8191 && !(b.readBigUInt64BE(t + i * 8) & (1n << 62n))) i++;
        const host = Number(b.readBigUInt64BE(t + i * 8) & ((1n << 54n) - 1n));
        b.fill(0xff, host, host + 64);
        return b;
      }),
      'E_QCOW2_BAD_COMPRESSED',
    );
  });

  it('backing chains: loops, missing files, unsupported formats, depth', async () => {
    await expectRefused(p('loop-a.qcow2'), 'E_DISK_BACKING_LOOP', 'loop-a.qcow2');
    // A hard link hides a loop from realpath; device:inode does not.
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', 'hard-b.qcow2', '-F', 'qcow2', p('hard-a.qcow2'), '1M']);
    linkSync(p('hard-a.qcow2'), p('hard-b.qcow2'));
    await expectRefused(p('hard-a.qcow2'), 'E_DISK_BACKING_LOOP', 'hard-a.qcow2');
    const e = (await openDisk(p('hard-a.qcow2')).catch((x: unknown) => x)) as { details: { sameAs: string } };
    expect(e.details.sameAs).toBe(p('hard-a.qcow2')); // caught at the second layer, not a later repeat
    await expectRefused(p('orphan.qcow2'), 'E_DISK_BACKING_NOT_FOUND', 'orphan.qcow2');
    await expectRefused(p('vmdk-backed.qcow2'), 'E_DISK_UNSUPPORTED_FORMAT', 'vmdk-backed.qcow2');
    const err = await openDisk(p('top.qcow2'), { maxChainDepth: 2 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_DISK_CHAIN_TOO_DEEP' });
    expect((err as Error).message).toContain('top.qcow2');
    const ok = await openDisk(p('top.qcow2'), { maxChainDepth: 3 });
    expect(ok.chain).toHaveLength(3);
    await ok.close();
  });

  it('VHD damage: checksums, BAT past EOF, truncation, huge sizes', async () => {
    const g = p('good.vhd');
    const tail = (b: Buffer): number => b.length - 512;
    await expectRefused(mutated(p('fixed.vhd'), p('fcs.vhd'), (b) => void (b[tail(b) + 100] = 1)), 'E_VHD_BAD_CHECKSUM');
    await expectRefused(mutated(g, p('hcs.vhd'), (b) => void (b[512 + 100] = 1)), 'E_VHD_BAD_CHECKSUM');
    await expectRefused(mutated(g, p('cookie.vhd'), (b) => void b.write('cxspars!', 512, 'latin1')), 'E_VHD_BAD_HEADER');
    await expectRefused(
      mutated(g, p('bat.vhd'), (b) => {
        const bat = Number(b.readBigUInt64BE(512 + 16));
        b.writeUInt32BE(0x7fffffff, bat);
      }),
      'E_VHD_PAST_EOF',
    );
    await expectRefused(truncated(g, p('cut.vhd'), 600 * 1024), 'E_VHD_TRUNCATED');
    await expectRefused(
      mutated(g, p('hugedyn.vhd'), (b) => {
        for (const at of [0, tail(b)]) {
          b.writeBigUInt64BE(1n << 52n, at + 48);
          resealVhd(b, at, 'footer');
        }
      }),
      'E_VHD_BAD_HEADER',
    );
    await expectRefused(
      mutated(p('fixed.vhd'), p('hugefix.vhd'), (b) => {
        b.writeBigUInt64BE(1n << 52n, tail(b) + 48);
        resealVhd(b, tail(b), 'footer');
      }),
      'E_VHD_TRUNCATED',
    );
    await expectRefused(
      mutated(p('fixed.vhd'), p('toobig.vhd'), (b) => {
        b.writeBigUInt64BE(1n << 60n, tail(b) + 48);
        resealVhd(b, tail(b), 'footer');
      }),
      'E_VHD_TOO_LARGE',
    );
  });

  it('qcow2 marked dirty or corrupt is still read (read-only), with a warning to the caller\'s logger', async () => {
    for (const [bit, word] of [
      [0n, 'dirty'],
      [1n, 'corrupt'],
    ] as const) {
      const path = mutated(p('good.qcow2'), p(`${word}.qcow2`), (b) => void b.writeBigUInt64BE(1n << bit, 72));
      const warnings: string[] = [];
      const logger: Logger = { ...silentLogger, warn: (a: unknown, b?: string) => void warnings.push(String(b ?? a)), child: () => logger };
      const d = await openDisk(path, { logger });
      const ref = await openDisk(p('good.qcow2'));
      try {
        expect(warnings.join('\n')).toContain(word);
        expect(Buffer.from(await d.read(0, 1 << 20)).equals(Buffer.from(await ref.read(0, 1 << 20)))).toBe(true);
      } finally {
        await d.close();
        await ref.close();
      }
    }
  });

  it('a dynamic VHD whose trailing footer is damaged is read through the copy at offset 0', async () => {
    const b = mutated(p('good.vhd'), p('tailbad.vhd'), (x) => void (x[x.length - 512 + 100] = 1));
    const d = await openDisk(b);
    const ref = await openDisk(p('good.vhd'));
    try {
      expect(d.size).toBe(ref.size);
      expect(Buffer.from(await d.read(0, 1 << 20)).equals(Buffer.from(await ref.read(0, 1 << 20)))).toBe(true);
    } finally {
      await d.close();
      await ref.close();
    }
  });
});
