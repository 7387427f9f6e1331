import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '@xenkit/fixtures';
import { safeRead, safeSymlink, safeWrite, type SafeTarget } from './safe-write.js';

// The writer child is the last line of defence: it must refuse components that climb out of the
// walk even when a caller forgot to check them.
describe('safe writer child validates every path component', () => {
  let dir: { path: string; cleanup: () => void };
  let root: string;
  beforeEach(() => {
    dir = tempDir('xenkit-sw-');
    root = join(dir.path, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(dir.path, 'outside'), 'outside\n');
  });
  afterEach(() => dir.cleanup());
  const base = (): SafeTarget => ({ root, dirs: ['etc'], name: 'f', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, create: true, mode: 0o644, dirMode: 0o755 });

  const bad: [string, Partial<SafeTarget>][] = [
    ['.. in dirs', { dirs: ['..'], name: 'outside' }],
    ['.. after a real dir', { dirs: ['etc', '..', '..'], name: 'outside' }],
    ['/ in a dir component', { dirs: ['etc/../..'], name: 'outside' }],
    ['absolute dir component', { dirs: ['/tmp'], name: 'x' }],
    ['empty dir component', { dirs: ['etc', ''], name: 'x' }],
    ['. dir component', { dirs: ['.'], name: 'x' }],
    ['.. as name', { dirs: ['etc'], name: '..' }],
    ['name with /', { dirs: [], name: '../outside' }],
    ['empty name', { dirs: ['etc'], name: '' }],
    ['NUL in name', { dirs: ['etc'], name: 'a\u0000b' }],
  ];
  for (const [what, t] of bad) {
    it(`refuses ${what} for write, read and symlink`, async () => {
      const target = { ...base(), ...t };
      await expect(safeWrite(target, Buffer.from('pwned\n'))).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
      await expect(safeRead(target)).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
      await expect(safeSymlink(target, '/x')).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
      expect(readFileSync(join(dir.path, 'outside'), 'utf8')).toBe('outside\n');
      expect(readdirSync(dir.path).sort()).toEqual(['outside', 'root']);
      expect(readdirSync(join(root, 'etc'))).toEqual([]);
    });
  }

  it('still writes and reads plain components', async () => {
    await safeWrite({ ...base(), dirs: ['etc', 'sub'] }, Buffer.from('ok\n'));
    expect(readFileSync(join(root, 'etc/sub/f'), 'utf8')).toBe('ok\n');
    expect(String(await safeRead({ ...base(), dirs: ['etc', 'sub'] }))).toBe('ok\n');
    expect(existsSync(join(dir.path, 'f'))).toBe(false);
  });
});
