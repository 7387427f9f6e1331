import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { InputError, isXenkitError, silentLogger, type Logger } from '@xenkit/core';
import { DiffieHellman, decryptPassword, parsePeerPublic } from './crypto.js';
import { injectKeys, parseKeys, readPasswd } from './keys.js';
import { applyCommands, detectStack, interfaceNames, parseInterface, render, type NovaInterface } from './network.js';
import { setPassword } from './password.js';
import { safeWrite } from './safe-write.js';

export const AGENT_VERSION = '1.0.0-xenkit';

/** What nova reads back from `data/guest/<id>`: both fields are strings. */
export interface NovaReply {
  returncode: string;
  message: string;
}

/** Commands we implement, as the `features` reply lists them (nova picks file_inject when present). */
export const FEATURES = ['version', 'features', 'keyinit', 'password', 'injectfile', 'file_inject', 'resetnetwork'];

export interface CommandContext {
  root: string;
  logger?: Logger;
  /** Reads `vm-data/networking` entries (values) for resetnetwork. */
  readNetworking?: () => Promise<string[]>;
  /** Allow `agentupdate` (off by default: it downloads and runs code as root, checked only by MD5). */
  allowAgentUpdate?: boolean;
}

const ok = (message = ''): NovaReply => ({ returncode: '0', message });
const fail = (code: string, message: string): NovaReply => ({ returncode: code, message });

/** Per-boot protocol state: the DH exchange lives between keyinit and password. */
export class NovaProtocol {
  private dh: DiffieHellman | undefined;
  private shared: string | undefined;
  private readonly logger: Logger;

  constructor(private readonly ctx: CommandContext) {
    this.logger = ctx.logger ?? silentLogger;
  }

  /** Handles one raw request value from `data/host/<id>`. Never throws: every failure is a reply. */
  async handle(raw: string): Promise<NovaReply> {
    let req: { name?: unknown; value?: unknown };
    try {
      req = JSON.parse(raw) as typeof req;
    } catch {
      return fail('500', 'malformed request: not JSON');
    }
    if (!req || typeof req !== 'object' || typeof req.name !== 'string') return fail('500', 'malformed request: no "name"');
    const name = req.name;
    this.logger.info({ command: name }, 'nova agent request');
    try {
      switch (name) {
        case 'version':
          return ok(AGENT_VERSION);
        case 'features':
          return ok(FEATURES.join(','));
        case 'keyinit':
        case 'key_init':
          return this.keyinit(req.value);
        case 'password':
          return await this.password(req.value);
        case 'injectfile':
          return await this.injectfile(req.value);
        case 'file_inject':
          return await this.fileInject(req.value);
        case 'resetnetwork':
          return await this.resetnetwork();
        case 'agentupdate':
          if (!this.ctx.allowAgentUpdate) {
            this.logger.warn('agentupdate refused: it would run downloaded code as root');
            return fail('500', 'agentupdate is disabled on this guest');
          }
          return fail('500', 'agentupdate is not supported by xenkit-agent');
        default:
          return fail('404', `unknown command: ${name.slice(0, 64)}`);
      }
    } catch (e) {
      const code = isXenkitError(e) ? e.code : 'E_INTERNAL';
      this.logger.warn({ command: name, code, err: (e as Error).message }, 'nova agent command failed');
      return fail('500', isXenkitError(e) ? e.message : 'internal error');
    }
  }

  private keyinit(value: unknown): NovaReply {
    const peer = parsePeerPublic(typeof value === 'string' ? value : String(value ?? ''));
    this.dh = new DiffieHellman();
    this.shared = this.dh.computeShared(peer);
    return { returncode: 'D0', message: this.dh.publicKey.toString(10) };
  }

  private async password(value: unknown): Promise<NovaReply> {
    if (!this.shared) return fail('500', 'password before keyinit: no key negotiated');
    if (typeof value !== 'string') return fail('500', 'password value must be a string');
    const { password, digest } = decryptPassword(value, this.shared);
    await setPassword(this.ctx.root, 'root', password);
    this.logger.info({ user: 'root', kdf: digest }, 'password changed');
    return ok('');
  }

  private async injectfile(value: unknown): Promise<NovaReply> {
    if (typeof value !== 'string') return fail('500', 'injectfile value must be base64 text');
    const decoded = decodeB64(value);
    const comma = decoded.indexOf(0x2c);
    if (comma < 0) return fail('500', 'injectfile value must decode to "<path>,<contents>"');
    return this.writeInjected(decoded.subarray(0, comma).toString('utf8'), decoded.subarray(comma + 1));
  }

  private async fileInject(value: unknown): Promise<NovaReply> {
    const v = value as { b64_path?: unknown; b64_file?: unknown } | null;
    if (!v || typeof v !== 'object' || typeof v.b64_path !== 'string' || typeof v.b64_file !== 'string') {
      return fail('500', 'file_inject value must be {"b64_path","b64_file"}');
    }
    return this.writeInjected(decodeB64(v.b64_path).toString('utf8'), decodeB64(v.b64_file));
  }

  private async writeInjected(path: string, contents: Buffer): Promise<NovaReply> {
    if (!path.startsWith('/') || /[\u0000-\u001f]/.test(path)) return fail('500', 'injected file path must be absolute');
    const parts = path.split('/').filter((p) => p.length > 0 && p !== '.');
    if (parts.includes('..')) return fail('500', 'injected file path must not contain ..');
    if (parts.length === 0) return fail('500', 'injected file path names no file');
    const clean = posix.join('/', ...parts);
    // authorized_keys of a known user is always merged, never replaced (nova's replace would drop
    // cloud-init's disable_root entry and any key the user added).
    const m = /^(.*)\/\.ssh\/authorized_keys$/.exec(clean);
    if (m) {
      const user = await this.userByHome(m[1] || '/');
      if (user) {
        const r = await injectKeys(this.ctx.root, user, parseKeys(contents.toString('utf8')), this.logger);
        return ok(`${r.added} key(s) added to ${r.path}`);
      }
    }
    // Written as the owner of the deepest existing directory: inside a user's tree, a link the user
    // swaps in mid-write can then reach nothing the user could not write anyway.
    const owner = await nearestOwner(this.ctx.root, parts.slice(0, -1));
    await safeWrite({ root: this.ctx.root, dirs: parts.slice(0, -1), name: parts.at(-1) as string, uid: owner.uid, gid: owner.gid, create: true, mode: 0o600, dirMode: 0o755 }, contents, this.logger);
    this.logger.info({ path: clean, bytes: contents.length, uid: owner.uid }, 'file injected');
    return ok('');
  }

  private async userByHome(home: string): Promise<string | undefined> {
    // Unreadable or linked passwd (E_AGENT_UNSAFE_PATH) propagates: the injection is refused, not guessed.
    const users = await readPasswd(this.ctx.root);
    const byName = (n: string) => users.find((u) => u.name === n);
    for (const pw of [byName('root'), ...users]) {
      if (pw && posix.normalize(pw.home) === home) return pw.name;
    }
    return undefined;
  }

  private async resetnetwork(): Promise<NovaReply> {
    const values = (await this.ctx.readNetworking?.()) ?? [];
    const ifaces: NovaInterface[] = values.map(parseInterface);
    if (ifaces.length === 0) return ok('no networking data in xenstore');
    const stack = await detectStack(this.ctx.root);
    const names = interfaceNames(this.ctx.root, ifaces);
    const files = render(stack, ifaces, names);
    for (const f of files) {
      const parts = f.path.split('/');
      const mode = stack === 'ifupdown' ? 0o644 : 0o600;
      await safeWrite({ root: this.ctx.root, dirs: parts.slice(0, -1), name: parts.at(-1) as string, uid: 0, gid: 0, create: true, mode, dirMode: 0o755 }, Buffer.from(f.content), this.logger);
    }
    this.logger.info({ stack, files: files.map((f) => f.path), interfaces: ifaces.length }, 'network configuration written');
    if (this.ctx.root === '/') {
      for (const cmd of applyCommands(stack, names)) {
        const status = await runTool(cmd);
        this.logger.info({ cmd: cmd.join(' '), status }, 'network apply step');
      }
    }
    return ok('');
  }
}

function runTool(cmd: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0] as string, cmd.slice(1), { stdio: 'ignore', timeout: 60_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    child.on('error', () => resolve(-1));
    child.on('close', (s) => resolve(s ?? -1));
  });
}

async function nearestOwner(root: string, dirs: readonly string[]): Promise<{ uid: number; gid: number }> {
  const { lstat } = await import('node:fs/promises');
  let owner = { uid: 0, gid: 0 };
  let at = root;
  for (const d of dirs) {
    at = posix.join(at, d);
    const st = await lstat(at).catch(() => undefined);
    if (!st || !st.isDirectory()) break; // missing (created below) or refused by the writer
    owner = { uid: st.uid, gid: st.gid };
  }
  return owner;
}

function decodeB64(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new InputError('E_AGENT_BAD_BASE64', 'injected path or contents is not base64');
  return Buffer.from(clean, 'base64');
}
