import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCaptured } from '../test-helpers/capture.js';

describe('xenkit lab', () => {
  it('rejects bad option values as usage errors (exit 2)', async () => {
    for (const argv of [['lab', '--hosts', '0'], ['lab', '--port', 'http'], ['lab', '--vms', '-1']]) {
      const r = await runCaptured(argv);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^E_USAGE: --(hosts|port|vms) must be an integer/);
    }
  });

  it('prints the URL and credentials as JSON, answers XAPI calls, and stops on SIGTERM', async () => {
    let text = '';
    let printed!: (s: string) => void;
    const ready = new Promise<string>((r) => (printed = r));
    const stdout = new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        if (text.trimEnd().endsWith('}')) printed(text);
        cb();
      },
    });
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
});
