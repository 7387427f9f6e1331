import { chownSync, linkSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireTools } from '@xenkit/fixtures';
import { injectKeys, mergeAuthorizedKeys, parseKeys } from './keys.js';
import { genKey, makeGuestTree } from './test-helpers/tree.js';

describe('mergeAuthorizedKeys', () => {
  it('keeps existing lines and options, dedupes by blob, appends new keys', () => {
    requireTools('ssh-keygen');
    const a = genKey('a');
    const b = genKey('b');
    const blobA = a.split(' ')[1];
    const existing = `# my keys\nno-pty,command="/bin/true" ssh-ed25519 ${blobA} restricted\nnot a key line\n`;
    const { text, added } = mergeAuthorizedKeys(existing, [a, b, b]);
    expect(added).toBe(1);
    expect(text).toBe(`${existing}${b}\n`);
    expect(mergeAuthorizedKeys('', [a]).text).toBe(`${a}\n`);
  });

  it('parseKeys refuses anything that is not a public key', () => {
    expect(() => parseKeys('rm -rf /')).toThrow(/not an OpenSSH public key/);
    expect(parseKeys(`\n# c\n${genKey('x')}\n`)).toHaveLength(1);
  });
});

describe('injectKeys against hostile trees', () => {
  let tree: { root: string; cleanup: () => void };
  let key: string;
  beforeEach(() => {
    tree = makeGuestTree();
    key = genKey('nova');
  });
  afterEach(() => tree.cleanup());

  it('creates .ssh 0700 and the file 0600 owned by the user', async () => {
    await injectKeys(tree.root, 'bob', [key]);
    const d = lstatSync(join(tree.root, 'home/bob/.ssh'));
    const f = lstatSync(join(tree.root, 'home/bob/.ssh/authorized_keys'));
    expect([d.uid, d.mode & 0o777, f.uid, f.gid, f.mode & 0o777]).toEqual([1000, 0o700, 1000, 1000, 0o600]);
    expect(readFileSync(join(tree.root, 'home/bob/.ssh/authorized_keys'), 'utf8')).toBe(`${key}\n`);
  });

  it('refuses a symlinked ~/.ssh', async () => {
    mkdirSync(join(tree.root, 'elsewhere'));
    symlinkSync(join(tree.root, 'elsewhere'), join(tree.root, 'home/bob/.ssh'));
    await expect(injectKeys(tree.root, 'bob', [key])).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
    expect(() => lstatSync(join(tree.root, 'elsewhere/authorized_keys'))).toThrow();
  });

  it('refuses authorized_keys linked to /etc/shadow (symlink and hardlink), leaving shadow intact', async () => {
    const shadow = join(tree.root, 'etc/shadow');
    const before = readFileSync(shadow, 'utf8');
    mkdirSync(join(tree.root, 'root/.ssh'), { mode: 0o700 });
    symlinkSync(shadow, join(tree.root, 'root/.ssh/authorized_keys'));
    await expect(injectKeys(tree.root, 'root', [key])).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
    mkdirSync(join(tree.root, 'home/bob/.ssh'), { mode: 0o700 });
    chownSync(join(tree.root, 'home/bob/.ssh'), 1000, 1000);
    linkSync(shadow, join(tree.root, 'home/bob/.ssh/authorized_keys'));
    await expect(injectKeys(tree.root, 'bob', [key])).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
    expect(readFileSync(shadow, 'utf8')).toBe(before);
    expect(lstatSync(shadow).mode & 0o777).toBe(0o640);
  });

  it('a symlinked home component is refused', async () => {
    mkdirSync(join(tree.root, 'srv/bob'), { recursive: true });
    writeFileSync(join(tree.root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/homes/bob:/bin/bash\n');
    symlinkSync(join(tree.root, 'srv'), join(tree.root, 'homes'));
    await expect(injectKeys(tree.root, 'bob', [key])).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
  });

  it('writes as the user: a root-owned ~/.ssh the user cannot write is not written through', async () => {
    mkdirSync(join(tree.root, 'home/bob/.ssh'), { mode: 0o755 });
    await expect(injectKeys(tree.root, 'bob', [key])).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
  });

  it('no temp files are left behind (even a dead writer\'s) and a second inject is a no-op', async () => {
    mkdirSync(join(tree.root, 'root/.ssh'), { mode: 0o700 });
    writeFileSync(join(tree.root, 'root/.ssh/.authorized_keys.xenkit-123-abc'), 'half-written');
    await injectKeys(tree.root, 'root', [key]);
    const r = await injectKeys(tree.root, 'root', [key]);
    expect(r.added).toBe(0);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(tree.root, 'root/.ssh'))).toEqual(['authorized_keys']);
  });
});
