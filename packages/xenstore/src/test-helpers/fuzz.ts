import { connect } from 'node:net';
import { join } from 'node:path';
import { XenstoreClient } from '../client.js';
import { XenstoreServer } from '../server.js';
import { XsType, encodeMessage } from '../wire.js';
import { rng } from '@xenkit/fixtures';

/** The shared seeded generator (@xenkit/fixtures), so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  const r = rng(seed);
  return () => r.next();
}

const WORDS = ['/', 'a', 'b', 'local', 'domain', '0', '7', 'data', 'host', '@introduceDomain', '..', '//', 'T', 'F', 'n0', 'r7', 'b9999999', 'x'.repeat(300), '\u00ff'];

/**
 * Throws random, mostly well-formed messages (random type, tx id, NUL-separated path-ish words or
 * raw bytes) at a server through a dom0 socket and a guest socket, then checks that the server still
 * answers a real client. Returns how many messages were sent.
 */
export async function fuzzServer(dir: string, seed: number, deadline: number): Promise<number> {
  const rand = prng(seed);
  const server = new XenstoreServer();
  const socks = [join(dir, `f0-${seed}.sock`), join(dir, `f7-${seed}.sock`)];
  await server.listen(socks[0] as string, 0);
  await server.listen(socks[1] as string, 7);
  let sent = 0;
  try {
    while (Date.now() < deadline) {
      const s = connect(socks[Math.floor(rand() * 2)] as string);
      await new Promise((r) => s.once('connect', r));
      s.on('data', () => undefined);
      s.on('error', () => undefined);
      for (let i = 0; i < 200; i++) {
        const type = rand() < 0.9 ? Math.floor(rand() * 24) : Math.floor(rand() * 0xffffffff);
        let payload: Buffer;
        if (rand() < 0.8) {
          const n = 1 + Math.floor(rand() * 4);
          payload = Buffer.from(Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(rand() < 0.5 ? '\0' : '/') + (rand() < 0.5 ? '\0' : ''));
        } else {
          payload = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
        }
        const txId = rand() < 0.7 ? 0 : Math.floor(rand() * 4);
        s.write(encodeMessage({ type: type === XsType.WATCH_EVENT ? XsType.READ : type, reqId: i, txId, payload }));
        sent++;
      }
      await new Promise((r) => setTimeout(r, 5));
      s.destroy();
      const c = await XenstoreClient.open({ path: socks[0], timeoutMs: 2000 });
      await c.write('/fuzz/alive', String(sent));
      if ((await c.read('/fuzz/alive')) !== String(sent)) throw new Error(`server state broken after seed ${seed}`);
      c.close();
    }
  } finally {
    await server.close();
  }
  return sent;
}
