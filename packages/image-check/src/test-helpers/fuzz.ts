import { isXenkitError } from '@xenkit/core';
import { parseDpkgStatus } from '../apps/dpkg.js';
import { parseRpmHeader, readRpmSqlite } from '../apps/rpm.js';
import { parseExtlinux } from '../boot/extlinux.js';
import { flatten, grubDefault, parseGrub2, parseGrubenv, pygrubDefault } from '../boot/grub2.js';
import { parseGrubLegacy } from '../boot/legacy.js';
import { parseFstab } from '../os/fstab.js';
import { parseShellVars } from '../text.js';
import { GRUB_CFG } from './trees.js';

/** mulberry32: a small seeded PRNG, so a failing iteration can be replayed from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = ['{', '}', "'", '"', '\\', '\n', 'menuentry ', 'submenu ', 'set default=', '>', '${saved_entry}', 'linux ', 'title ', 'kernel ', 'LABEL ', 'APPEND ', 'DEFAULT ', '#', '=', ' ', '\t', 'function ', 'UUID=', '\0'];

function mutateText(seed: string, r: () => number): string {
  let s = seed;
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.4) s = s.slice(0, at) + (TOKENS[Math.floor(r() * TOKENS.length)] as string) + s.slice(at);
    else if (op < 0.7) s = s.slice(0, at) + s.slice(at + Math.floor(r() * 40));
    else s = s.slice(0, at) + s.slice(Math.floor(r() * s.length), Math.floor(r() * s.length)) + s.slice(at);
  }
  return s;
}

function mutateBytes(seed: Uint8Array, r: () => number): Uint8Array {
  const b = seed.slice();
  const n = 1 + Math.floor(r() * 16);
  for (let i = 0; i < n; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
  return b;
}

/** One fuzz iteration over every text parser, and the SQLite/rpm readers when a database seed is given. */
export function fuzzOnce(seed: number, sqliteSeed?: Uint8Array): void {
  const r = rng(seed);
  const grub = mutateText(GRUB_CFG('console=ttyS0', 'set default="1>0"'), r);
  const cfg = parseGrub2(grub);
  const entries = flatten(cfg.items);
  grubDefault(cfg, parseGrubenv(mutateText('saved_entry=1>0\nnext_entry=\n', r)));
  const p = pygrubDefault(cfg, entries);
  if (p < 0 || (entries.length > 0 && p >= entries.length)) throw new Error(`pygrub index ${p} of ${entries.length}`);
  parseGrubLegacy(mutateText('default 1\ntitle a\n kernel /vmlinuz ro\ntitle b\n kernel (hd0,0)/v x\n', r));
  parseExtlinux(mutateText('DEFAULT b\nLABEL a\n KERNEL /v\n APPEND ro initrd=/i\nLABEL b\n LINUX /w\n', r));
  parseFstab(mutateText('UUID=x / ext4 defaults 0 1\nLABEL=a\\040b /boot ext4 defaults 0 2\n', r));
  parseDpkgStatus(mutateText('Package: a\nStatus: install ok installed\nVersion: 1:2-3\nDescription: x\n y\n .\n', r));
  parseShellVars(mutateText('A="b c"\nexport D=\'e\'\nF=g # h\n', r));
  if (sqliteSeed) {
    const bytes = mutateBytes(sqliteSeed, r);
    try {
      readRpmSqlite(bytes, 'fuzz.sqlite');
    } catch (e) {
      if (!isXenkitError(e)) throw e;
    }
    parseRpmHeader(mutateBytes(sqliteSeed.subarray(0, 2048), r));
  }
}
