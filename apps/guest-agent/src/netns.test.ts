import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, execAsync, requireTools, tempDir } from '@xenkit/fixtures';
import { genKey, makeGuestTree } from './test-helpers/tree.js';
// @ts-expect-error plain ESM build script without types
import { bundle } from '../build/bundle.mjs';

// The real address: two network namespaces joined by a veth pair, the metadata service listening on
// 169.254.169.254:80 in one, the bundled agent with its default metadata URL in the other. Nothing
// touches the host's own network namespace.
describe('metadata at 169.254.169.254 in a test network namespace', () => {
  const tag = `xk${process.pid % 100000}`;
  const nsMd = `${tag}-md`;
  const nsGuest = `${tag}-guest`;
  const dir = tempDir('xenkit-netns-');
  const out = join(dir.path, 'xenkit-agent.mjs');
  let server: ChildProcess | undefined;
  const key = genKey('netns');

  beforeAll(async () => {
    requireTools('ip', 'ssh-keygen');
    if (process.getuid?.() !== 0) throw new Error('this test creates network namespaces and must run as root');
    await (bundle as (o: string) => Promise<string>)(out);
    exec('ip', ['netns', 'add', nsMd]);
    exec('ip', ['netns', 'add', nsGuest]);
    exec('ip', ['link', 'add', `${tag}m`, 'netns', nsMd, 'type', 'veth', 'peer', 'name', `${tag}g`, 'netns', nsGuest]);
    exec('ip', ['-n', nsMd, 'addr', 'add', '169.254.169.254/16', 'dev', `${tag}m`]);
    exec('ip', ['-n', nsGuest, 'addr', 'add', '169.254.10.2/16', 'dev', `${tag}g`]);
    for (const [ns, dev] of [[nsMd, `${tag}m`], [nsGuest, `${tag}g`]] as const) {
      exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      exec('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    const script = join(dir.path, 'md.mjs');
    writeFileSync(
      script,
      `import { createServer } from 'node:http';
const routes = {
  '/2009-04-04/meta-data/instance-id': 'i-netns',
  '/2009-04-04/meta-data/hostname': 'netns-guest',
  '/2009-04-04/meta-data/public-keys/': '0=k',
  '/2009-04-04/meta-data/public-keys/0/openssh-key': ${JSON.stringify(`${key}\n`)},
};
createServer((q, s) => { const r = routes[q.url]; if (r) s.end(r); else s.writeHead(404).end(); })
  .listen(80, '169.254.169.254', () => console.log('ready'));
`,
    );
    server = spawn('ip', ['netns', 'exec', nsMd, process.execPath, script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      server?.once('close', (c) => reject(new Error(`metadata server exited ${c}`)));
    });
  });
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server?.once('close', r));
    }
    exec('ip', ['netns', 'del', nsGuest], { allowFailure: true });
    exec('ip', ['netns', 'del', nsMd], { allowFailure: true });
    dir.cleanup();
  });

  it('the agent fetches the key from http://169.254.169.254 by default', async () => {
    const tree = makeGuestTree();
    try {
      const r = await execAsync('ip', ['netns', 'exec', nsGuest, process.execPath, out, 'provision', '--root', tree.root, '--attempts', '5', '--interval-ms', '200'], { allowFailure: true });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(tree.root, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${key}\n`);
      expect(readFileSync(join(tree.root, 'etc/hostname'), 'utf8')).toBe('netns-guest\n');
      expect(exec('ip', ['netns', 'list']).stdout).toContain(nsGuest);
    } finally {
      tree.cleanup();
    }
  });
});
