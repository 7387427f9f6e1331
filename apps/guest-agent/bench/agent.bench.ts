// xenkit-agent benchmark: latency from the metadata answer to the key on disk, idle CPU and RSS of
// the bundled agent serving xenstore, against peers measured in the same run: the guide's rc.local
// recipe (curl + append) for latency, and a python3 + pyxs watcher (nova-agent's stack) for RSS/CPU.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XenstoreServer } from '@xenkit/xenstore';
// @ts-expect-error plain ESM build script without types
import { bundle } from '../build/bundle.mjs';

const work = mkdtempSync(join(tmpdir(), 'xenkit-agent-bench-'));
chmodSync(work, 0o755);
const key = (() => {
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', join(work, 'k')]);
  return readFileSync(join(work, 'k.pub'), 'utf8').trim();
})();

function tree(name: string): string {
  const root = join(work, name);
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'root'), { mode: 0o700 });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  return root;
}

async function metadataServer(): Promise<{ url: string; answeredAt: () => number; close: () => void }> {
  let answeredAt = 0;
  const routes: Record<string, string> = {
    '/2009-04-04/meta-data/instance-id': 'i-bench',
    '/2009-04-04/meta-data/public-keys/': '0=k',
    '/2009-04-04/meta-data/public-keys/0/openssh-key': `${key}\n`,
    '/latest/meta-data/public-keys/0/openssh-key': `${key}\n`,
  };
  const srv = createServer((q, s) => {
    const r = routes[q.url ?? ''];
    if (!r) return void s.writeHead(404).end();
    s.end(r, () => {
      if (q.url?.endsWith('openssh-key')) answeredAt = performance.now();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, answeredAt: () => answeredAt, close: () => srv.close() };
}

/** Polls (1 ms) until `file` holds the key; returns performance.now() at that moment. */
async function waitFile(file: string, timeoutMs = 20_000): Promise<number> {
  const end = performance.now() + timeoutMs;
  const blob = key.split(' ')[1] as string;
  while (!(existsSync(file) && readFileSync(file, 'utf8').includes(blob))) {
    if (performance.now() > end) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now();
}

async function keyLatency(run: (root: string, url: string) => ChildProcess, label: string, n = 5): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const md = await metadataServer();
    const root = tree(`${label}-${i}`);
    const child = run(root, md.url);
    const at = await waitFile(join(root, 'root/.ssh/authorized_keys'));
    await new Promise((r) => child.once('close', r));
    out.push(at - md.answeredAt());
    md.close();
  }
  return out;
}

function procStats(pid: number): { cpuTicks: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
  return { cpuTicks: Number(f[11]) + Number(f[12]), rssKb: Number(rss) };
}

async function idle(child: ChildProcess, seconds: number): Promise<{ cpuPct: number; rssMb: number }> {
  await new Promise((r) => setTimeout(r, 1500)); // settle after start-up
  const a = procStats(child.pid as number);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const b = procStats(child.pid as number);
  const hz = 100;
  return { cpuPct: ((b.cpuTicks - a.cpuTicks) / hz / seconds) * 100, rssMb: b.rssKb / 1024 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const agentFile = await (bundle as (o: string) => Promise<string>)(join(work, 'xenkit-agent.mjs'));

const ours = await keyLatency((root, url) => spawn(process.execPath, [agentFile, 'provision', '--root', root, '--metadata-url', url, '--attempts', '1', '--log-level', 'warn'], { stdio: 'ignore' }), 'agent');
const recipe = await keyLatency(
  (root, url) =>
    spawn('sh', ['-c', `mkdir -p -m 700 "$1/root/.ssh" && curl -sf "$2/latest/meta-data/public-keys/0/openssh-key" >> "$1/root/.ssh/authorized_keys" && chmod 600 "$1/root/.ssh/authorized_keys"`, 'sh', root, url], { stdio: 'ignore' }),
  'recipe',
);

const xs = new XenstoreServer();
const sock = join(work, 'dom3.sock');
await xs.listen(sock, 3);
const agent = spawn(process.execPath, [agentFile, 'run', '--root', tree('idle'), '--xenstore', sock, '--no-metadata', '--log-level', 'warn'], { stdio: 'ignore' });
const agentIdle = await idle(agent, 5);
agent.kill('SIGTERM');
const pyxs = spawn('/usr/bin/python3', ['-c', 'import sys, pyxs\nc = pyxs.Client(unix_socket_path=sys.argv[1]); c.connect()\nm = c.monitor(); m.watch(b"data/host", b"t")\nfor ev in m.wait(): pass', sock], { stdio: 'ignore' });
const pyIdle = await idle(pyxs, 5);
pyxs.kill('SIGTERM');
await xs.close();
rmSync(work, { recursive: true, force: true });

const ms = (x: number): string => `${x.toFixed(1)} ms`;
console.log('measure                                   xenkit-agent     peer                      ratio   target');
console.log(`key on disk after metadata answer (median) ${ms(median(ours)).padEnd(16)} ${`${ms(median(recipe))} (curl recipe)`.padEnd(25)} ${(median(ours) / median(recipe)).toFixed(2)}x   < 1000 ms ${median(ours) < 1000 ? 'OK' : 'MISSED'}`);
console.log(`idle CPU over 5 s                          ${`${agentIdle.cpuPct.toFixed(2)} %`.padEnd(16)} ${`${pyIdle.cpuPct.toFixed(2)} % (python3+pyxs)`.padEnd(25)} -       ≈ 0 ${agentIdle.cpuPct < 0.5 ? 'OK' : 'MISSED'}`);
console.log(`idle RSS                                   ${`${agentIdle.rssMb.toFixed(1)} MB`.padEnd(16)} ${`${pyIdle.rssMb.toFixed(1)} MB (python3+pyxs)`.padEnd(25)} ${(agentIdle.rssMb / pyIdle.rssMb).toFixed(2)}x   ≤ 60 MB ${agentIdle.rssMb <= 60 ? 'OK' : 'MISSED'}`);
console.log(`samples: agent ${ours.map((x) => x.toFixed(0)).join(',')} ms; recipe ${recipe.map((x) => x.toFixed(0)).join(',')} ms`);
