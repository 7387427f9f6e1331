import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { XenstoreClient } from './client.js';
import { XenstoreServer } from './server.js';

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
