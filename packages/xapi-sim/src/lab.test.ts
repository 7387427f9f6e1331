import { describe, expect, it } from 'vitest';
import { defaultLabPassword, startLab } from './lab.js';

describe('startLab', () => {
  it("uses 'xenkit' only on loopback and a fresh random password on any other address", () => {
    for (const bind of ['127.0.0.1', '127.0.0.5', '::1', 'localhost']) expect(defaultLabPassword(bind)).toBe('xenkit');
    for (const bind of ['0.0.0.0', '::', '192.0.2.10', '10.0.0.1']) {
      const a = defaultLabPassword(bind);
      expect(a).not.toBe('xenkit');
      expect(a).toMatch(/^[\w-]{16,}$/);
      expect(defaultLabPassword(bind)).not.toBe(a);
    }
  });

  it('defaults to xenkit on loopback and keeps a given password', async () => {
    const lab = await startLab({ vms: 0 });
    expect(lab.password).toBe('xenkit');
    await lab.close();
    const other = await startLab({ vms: 0, password: 'given' });
    expect(other.password).toBe('given');
    await other.close();
  });

  it('closes when stopSignal aborts, settling `closed`; close() settles it too', async () => {
    const ac = new AbortController();
    const lab = await startLab({ vms: 0, stopSignal: ac.signal });
    expect((await fetch(`${lab.url}/jsonrpc`, { method: 'POST', body: '{}' })).status).toBe(500);
    ac.abort();
    await lab.closed;
    await expect(fetch(`${lab.url}/jsonrpc`, { method: 'POST', body: '{}' })).rejects.toThrow();
    await lab.close();
    const second = await startLab({ vms: 0 });
    await second.close();
    await expect(second.closed).resolves.toBeUndefined();
  });
});
