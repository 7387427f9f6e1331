import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';

export const OXENSTORED = '/usr/lib/xen-4.17/bin/oxenstored';

/**
 * Handles for the hypervisor interfaces oxenstored opens at start-up even with --no-domain-init.
 * Nothing on the unix-socket path uses them: event channels never fire (the fd is a pipe nobody
 * writes), and no domain is ever introduced, so no grant or foreign mapping is made.
 */
const SHIM = String.raw`
#include <stdlib.h>
#include <unistd.h>
static int fds[2] = {-1, -1};
void *xc_interface_open(void *l, void *d, unsigned f) { return calloc(1, 4096); }
int xc_interface_close(void *x) { free(x); return 0; }
void *xenevtchn_open(void *l, unsigned f) { if (fds[0] < 0 && pipe(fds) != 0) return NULL; return calloc(1, 64); }
int xenevtchn_fd(void *x) { return fds[0]; }
int xenevtchn_close(void *x) { free(x); return 0; }
int xenevtchn_bind_virq(void *x, unsigned v) { return 1; }
int xenevtchn_pending(void *x) { return -1; }
int xenevtchn_unmask(void *x, unsigned p) { return 0; }
void *xengnttab_open(void *l, unsigned f) { return calloc(1, 64); }
int xengnttab_close(void *x) { free(x); return 0; }
`;

export interface RealXenstored {
  socket: string;
  stop: () => Promise<void>;
}

/**
 * Starts Xen's real oxenstored (xen-utils-4.17) serving a unix socket in a temp directory, without a
 * hypervisor. Three things stand in its way, each handled without touching the host:
 *  - it opens libxenctrl/libxenevtchn/libxengnttab handles at start-up: a preloaded shim returns
 *    inert ones (C xenstored 4.17 cannot be used instead: without -D it needs /dev/xen/privcmd, and
 *    with -D it dereferences a NULL pointer on the first request);
 *  - it raises RLIMIT_NOFILE to /proc/sys/fs/nr_open, which a container refuses: nr_open is
 *    bind-mounted, in a private mount namespace, with the current hard limit;
 *  - its socket path is compiled in (/var/run/xenstored/socket): /run is bind-mounted over by the
 *    temp directory in that namespace, so the socket appears there.
 */
export async function startOxenstored(): Promise<RealXenstored> {
  requireTools(OXENSTORED, 'gcc', 'unshare', 'mount');
  const dir = tempDir('xenkit-oxenstored-');
  const run = join(dir.path, 'run');
  mkdirSync(join(run, 'xenstored'), { recursive: true });
  const shimC = join(dir.path, 'shim.c');
  const shim = join(dir.path, 'shim.so');
  writeFileSync(shimC, SHIM);
  exec('gcc', ['-shared', '-fPIC', '-O1', '-o', shim, shimC]);
  const conf = join(dir.path, 'oxenstored.conf');
  writeFileSync(
    conf,
    [
      `pid-file = ${join(dir.path, 'oxenstored.pid')}`,
      'persistent = false',
      'quota-activate = true',
      `xenstored-log-file = ${join(dir.path, 'xenstored.log')}`,
      `access-log-file = ${join(dir.path, 'access.log')}`,
      '',
    ].join('\n'),
  );
  const nrOpen = join(dir.path, 'nr_open');
  const script = [
    'set -e',
    `ulimit -Hn > ${nrOpen}`,
    `mount --bind ${nrOpen} /proc/sys/fs/nr_open`,
    `mount --bind ${run} /run`,
    // /var/run is a link to /run on Debian; make sure it resolves into the bind mount either way.
    `[ -L /var/run ] || mount --bind ${run} /var/run`,
    `exec ${OXENSTORED} --no-fork --no-domain-init --config-file ${conf}`,
  ].join('\n');
  const child: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
    env: { ...process.env, LD_PRELOAD: shim },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const socket = join(run, 'xenstored', 'socket');
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const log = existsSync(join(dir.path, 'xenstored.log')) ? readFileSync(join(dir.path, 'xenstored.log'), 'utf8') : '';
      dir.cleanup();
      throw new Error(`oxenstored did not start (exit ${child.exitCode}): ${stderr}${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    socket,
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
      dir.cleanup();
    },
  };
}
