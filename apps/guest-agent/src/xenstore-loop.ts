import { silentLogger, type Logger } from '@xenkit/core';
import { XENSTORE_PAYLOAD_MAX, XenstoreError, isValidPath, type XenstoreClient } from '@xenkit/xenstore';
import type { NovaProtocol, NovaReply } from './commands.js';

export const HOST_DIR = 'data/host';
export const GUEST_DIR = 'data/guest';
export const NETWORKING_DIR = 'vm-data/networking';

/** Reads nova's per-interface networking entries from `vm-data/networking/*`. */
export async function readNetworking(client: XenstoreClient): Promise<string[]> {
  let names: string[];
  try {
    names = await client.directory(NETWORKING_DIR);
  } catch (e) {
    if (e instanceof XenstoreError && e.errno === 'ENOENT') return [];
    throw e;
  }
  const out: string[] = [];
  for (const n of names.slice(0, 64)) {
    const v = await client.tryRead(`${NETWORKING_DIR}/${n}`);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/**
 * Fits a reply into one xenstore WRITE (path + NUL + JSON ≤ 4096 bytes) by shortening the message.
 * dom0's plugin reads replies with `xenstore-read`, which escapes backslashes and non-printable
 * bytes; a JSON escape (`\"`) would then reach nova's json.loads mangled. So the message keeps to
 * printable ASCII without `"` and `\`, and the JSON needs no escapes at all.
 */
export function encodeReply(path: string, reply: NovaReply): string {
  let message = reply.message.replace(/"/g, "'").replace(/[^\x20-\x7e]|\\/g, '?');
  for (;;) {
    const json = JSON.stringify({ returncode: reply.returncode, message });
    if (Buffer.byteLength(json) + Buffer.byteLength(path) + 1 <= XENSTORE_PAYLOAD_MAX || message.length === 0) return json;
    message = message.slice(0, Math.floor(message.length * 0.9));
  }
}

/**
 * Serves nova's requests: a watch on `data/host` wakes the loop (no busy polling), and a slow poll
 * covers a lost event. Each request is removed before it is handled, so a slow command is never run
 * twice, and answered with one WRITE to `data/guest/<id>`.
 */
export class NovaRequestLoop {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  /** Replies we wrote and when: dom0 never deletes them, so we expire our own after replyTtlMs. */
  private readonly replies = new Map<string, number>();
  private readonly unaddressable = new Set<string>();
  handled = 0;

  constructor(
    private readonly client: XenstoreClient,
    private readonly protocol: NovaProtocol,
    private readonly options: { logger?: Logger; pollMs?: number; replyTtlMs?: number; maxReplies?: number; onHandled?: (id: string, reply: NovaReply) => void } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    await this.client.watch(HOST_DIR, 'xenkit-agent', () => this.kick());
    const pollMs = this.options.pollMs ?? 30_000;
    if (pollMs > 0) this.timer = setInterval(() => this.kick(), pollMs);
    this.kick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Resolves when the scan in progress (if any) is finished. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.scan();
        } catch (e) {
          this.logger.warn({ err: (e as Error).message }, 'scanning data/host failed');
        }
      } while (this.again);
      this.running = undefined;
    })();
  }

  private async expireReplies(): Promise<void> {
    const ttl = this.options.replyTtlMs ?? 600_000;
    const now = Date.now();
    for (const [id, at] of this.replies) {
      if (now - at < ttl) continue;
      this.replies.delete(id);
      await this.client.rm(`${GUEST_DIR}/${id}`).catch(() => undefined);
    }
  }

  /** Tracks a reply for expiry; past maxReplies the oldest is expired early, so none is left forever. */
  private async remember(id: string): Promise<void> {
    const max = Math.max(1, this.options.maxReplies ?? 4096);
    this.replies.delete(id);
    while (this.replies.size >= max) {
      const oldest = this.replies.keys().next().value as string;
      this.replies.delete(oldest);
      await this.client.rm(`${GUEST_DIR}/${oldest}`).catch(() => undefined);
    }
    this.replies.set(id, Date.now());
  }

  private async scan(): Promise<void> {
    await this.expireReplies();
    let ids: string[];
    try {
      ids = await this.client.directory(HOST_DIR);
    } catch (e) {
      if (e instanceof XenstoreError && e.errno === 'ENOENT') return;
      throw e;
    }
    for (const id of ids) {
      const hostPath = `${HOST_DIR}/${id}`;
      if (!isValidPath(hostPath) || id.length > 128) {
        // Removed, not skipped: a skipped entry would be listed and logged again on every scan.
        // A name our client cannot even address is remembered (boundedly) so it is logged once.
        if (isValidPath(hostPath)) await this.client.rm(hostPath).catch(() => undefined);
        else if (this.unaddressable.has(id)) continue;
        else if (this.unaddressable.size < 1024) this.unaddressable.add(id);
        this.logger.warn({ id: id.slice(0, 64) }, 'dropping a request with an invalid id');
        continue;
      }
      const raw = await this.client.tryRead(hostPath);
      await this.client.rm(hostPath).catch(() => undefined);
      if (raw === undefined) continue;
      const reply = await this.protocol.handle(raw);
      const guestPath = `${GUEST_DIR}/${id}`;
      await this.client.write(guestPath, encodeReply(guestPath, reply));
      await this.remember(id);
      this.handled++;
      this.logger.info({ id, returncode: reply.returncode }, 'nova agent reply written');
      this.options.onHandled?.(id, reply);
    }
  }
}
