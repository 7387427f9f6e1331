import { chownSync, linkSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireTools, tempDir } from '@xenkit/fixtures';
import { NovaProtocol } from './commands.js';
import { injectKeys, lookupUser, mergeAuthorizedKeys, parseKeys } from './keys.js';
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

  describe('etc/passwd that is a link to a host file', () => {
    let host: { path: string; cleanup: () => void };
    beforeEach(() => {
      host = tempDir('xenkit-hostpw-');
      // A "host" passwd naming users the image does not have, homes that exist nowhere in the tree.
      writeFileSync(join(host.path, 'passwd'), 'root:x:0:0:root:/hostroot:/bin/sh\nmallory:x:0:0::/home/mallory:/bin/sh\n');
    });
    afterEach(() => host.cleanup());

    it('lookupUser and injectKeys refuse a symlinked etc/passwd', async () => {
      const { rmSync } = await import('node:fs');
      rmSync(join(tree.root, 'etc/passwd'));
      symlinkSync(join(host.path, 'passwd'), join(tree.root, 'etc/passwd'));
      await expect(lookupUser(tree.root, 'mallory')).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
      await expect(injectKeys(tree.root, 'root', [key])).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
      expect(() => lstatSync(join(tree.root, 'hostroot'))).toThrow();
    });

    it('a symlinked etc directory is refused too', async () => {
      const { renameSync } = await import('node:fs');
      renameSync(join(tree.root, 'etc'), join(tree.root, 'etc.real'));
      symlinkSync(host.path, join(tree.root, 'etc'));
      await expect(lookupUser(tree.root, 'root')).rejects.toMatchObject({ code: 'E_AGENT_UNSAFE_PATH' });
    });

    it('nova injectfile of a user\'s authorized_keys does not resolve users through the link', async () => {
      const { rmSync } = await import('node:fs');
      rmSync(join(tree.root, 'etc/passwd'));
      symlinkSync(join(host.path, 'passwd'), join(tree.root, 'etc/passwd'));
      const protocol = new NovaProtocol({ root: tree.root });
      const value = Buffer.from(`/home/mallory/.ssh/authorized_keys,${key}\n`).toString('base64');
      const r = await protocol.handle(JSON.stringify({ name: 'injectfile', value }));
      expect(r.returncode).toBe('500');
      expect(r.message).toMatch(/symbolic link/);
      expect(() => lstatSync(join(tree.root, 'home/mallory'))).toThrow();
    });
  });
});
