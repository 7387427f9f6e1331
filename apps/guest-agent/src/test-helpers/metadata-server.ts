import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMetadata {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

export type Route = string | { status: number; headers?: Record<string, string>; body?: string } | 'stream-forever';

/**
 * A metadata service speaking nova's paths on loopback (or on any address a test network namespace
 * provides). Routes not listed answer 404, as nova's handler does.
 */
export async function startMetadataServer(routes: Record<string, Route>, host = '127.0.0.1', port = 0): Promise<FakeMetadata> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    hits.push(path);
    const r = routes[path];
    if (r === undefined) {
      res.writeHead(404).end('Not Found');
      return;
    }
    if (r === 'stream-forever') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = (): void => {
        if (res.destroyed) return;
        if (res.write(chunk)) setImmediate(pump);
        else res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
      return;
    }
    if (typeof r === 'string') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(r);
      return;
    }
    res.writeHead(r.status, r.headers ?? {}).end(r.body ?? '');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function ec2Routes(key: string, extra: Record<string, Route> = {}): Record<string, Route> {
  return {
    '/2009-04-04/meta-data/instance-id': 'i-0000002a',
    '/2009-04-04/meta-data/hostname': 'ec2-host.example.org',
    '/2009-04-04/meta-data/public-keys/': '0=mykey',
    '/2009-04-04/meta-data/public-keys/0/openssh-key': `${key}\n`,
    ...extra,
  };
}
