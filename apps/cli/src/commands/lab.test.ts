import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCaptured } from '../test-helpers/capture.js';

/** A stdout that resolves `ready` with what was printed once `done` says the lab has printed all of it. */
function capture(done: (s: string) => boolean) {
  let text = '';
  let printed!: (s: string) => void;
  const ready = new Promise<string>((r) => (printed = r));
  const stdout = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      if (done(text)) printed(text);
      cb();
    },
  });
  return { stdout, ready };
}

describe('xenkit lab', () => {
  it('rejects bad option values as usage errors (exit 2)', async () => {
    for (const argv of [['lab', '--hosts', '0'], ['lab', '--port', 'http'], ['lab', '--vms', '-1']]) {
      const r = await runCaptured(argv);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^E_USAGE: --(hosts|port|vms) must be an integer/);
    }
  });

  it('prints the URL and credentials as JSON, answers XAPI calls, and stops on SIGTERM', async () => {
    const { stdout, ready } = capture((t) => t.trimEnd().endsWith('}'));
    const run = runCaptured(['--json', 'lab', '--vms', '1'], { stdout, env: {} });
    const data = JSON.parse(await ready) as { url: string; user: string; password: string; state: null };
    expect(data).toMatchObject({ user: 'root', password: 'xenkit', state: null });
    expect(data.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${data.url}/jsonrpc`, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'session.login_with_password', params: [data.user, data.password] }),
    });
    expect(((await res.json()) as { result: string }).result).toMatch(/^OpaqueRef:/);
    process.emit('SIGTERM');
    expect((await run).status).toBe(0);
    await expect(fetch(`${data.url}/jsonrpc`, { method: 'POST', body: '{}' })).rejects.toThrow();
  });

  it('--tls --hosts 2 prints every host\'s certificate fingerprint, distinct, in JSON and the human view', async () => {
    const json = capture((t) => t.trimEnd().endsWith('}'));
    const jsonRun = runCaptured(['--json', 'lab', '--tls', '--hosts', '2', '--vms', '0'], { stdout: json.stdout, env: {} });
    const data = JSON.parse(await json.ready) as { url: string; fingerprint: string; fingerprints: string[] };
    expect(data.fingerprints).toHaveLength(2);
    expect(data.fingerprints[0]).toBe(data.fingerprint);
    expect(new Set(data.fingerprints).size).toBe(2);
    process.emit('SIGTERM');
    expect((await jsonRun).status).toBe(0);

    const human = capture((t) => t.includes('Serving until'));
    const humanRun = runCaptured(['lab', '--tls', '--hosts', '2', '--vms', '0'], { stdout: human.stdout, env: {} });
    const text = await human.ready;
    process.emit('SIGTERM');
    expect((await humanRun).status).toBe(0);
    const fp = '(?:[0-9A-F]{2}:){31}[0-9A-F]{2}';
    expect(text).toMatch(new RegExp(`^  fingerprint  ${fp} \\(SHA-256\\)$`, 'm'));
    const member = new RegExp(`^  member 2 fingerprint  (${fp}) \\(SHA-256\\)$`, 'm').exec(text);
    expect(member).not.toBeNull();
    expect(text).toMatch(/^  member 2 {5}https:\/\/127\.0\.0\.2:\d+$/m);
  });
});
