import { join } from 'node:path';
import { InputError, OperationError, silentLogger, type Logger } from '@xenkit/core';
import { safeRead, safeWrite } from './safe-write.js';

const KEY_TYPE =
  /(?:^|\s)((?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519|sk-ecdsa-sha2-nistp256)-cert-v01@openssh\.com))\s+([A-Za-z0-9+/]+={0,3})(?=\s|$)/;

/** The base64 blob identifying a key line, or undefined for comments and lines that hold no key. */
export function keyBlob(line: string): string | undefined {
  const t = line.trim();
  if (t.length === 0 || t.startsWith('#')) return undefined;
  return KEY_TYPE.exec(t)?.[2];
}

/** Splits key material (a file, a metadata value) into key lines, refusing anything that is not a key. */
export function parseKeys(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    if (/[\u0000-\u001f\u007f]/.test(line) || !keyBlob(line)) {
      throw new InputError('E_AGENT_BAD_KEY', 'public key data holds a line that is not an OpenSSH public key');
    }
    out.push(line);
  }
  return out;
}

/**
 * Merges keys into an authorized_keys text: every existing line stays as it is (options, comments,
 * lines we cannot parse); an incoming key whose blob is already present is not added again.
 */
export function mergeAuthorizedKeys(existing: string, incoming: readonly string[]): { text: string; added: number } {
  const lines = existing.length === 0 ? [] : existing.replace(/\n$/, '').split('\n');
  const seen = new Set(lines.map(keyBlob).filter((b): b is string => b !== undefined));
  let added = 0;
  for (const key of incoming) {
    const blob = keyBlob(key);
    if (!blob || seen.has(blob)) continue;
    seen.add(blob);
    lines.push(key);
    added++;
  }
  return { text: lines.length === 0 ? '' : `${lines.join('\n')}\n`, added };
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/**
 * Reads ROOT/etc/passwd without following a link: in an image tree `etc/passwd -> /etc/passwd`
 * (or `etc -> /etc`) would otherwise make the host's users decide where keys go.
 */
export async function readPasswd(root: string): Promise<PasswdEntry[]> {
  const text = ((await safeRead({ root, dirs: ['etc'], name: 'passwd', uid: 0, gid: 0 })) ?? Buffer.alloc(0)).toString('utf8');
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n').slice(0, 100_000)) {
    const f = line.split(':');
    if (f.length < 7 || !f[0]) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    const home = f[5] as string;
    if (!/^\d+$/.test(f[2] as string) || !/^\d+$/.test(f[3] as string) || !Number.isSafeInteger(uid) || !Number.isSafeInteger(gid) || !home.startsWith('/')) continue;
    out.push({ name: f[0], uid, gid, home, shell: f[6] as string });
  }
  return out;
}

/** Looks a user up in ROOT/etc/passwd (the image's users, not the host's). */
export async function lookupUser(root: string, name: string): Promise<PasswdEntry> {
  const pw = (await readPasswd(root)).find((e) => e.name === name);
  if (pw) return pw;
  throw new OperationError('E_AGENT_NO_USER', `user ${name} is not in ${join(root, 'etc/passwd')}`, { details: { user: name, root } });
}

export interface InjectResult {
  user: string;
  path: string;
  added: number;
  total: number;
}

/**
 * Adds keys to a user's ~/.ssh/authorized_keys: `.ssh` 0700 and the file 0600, both owned by the
 * user, merged (never replaced), written by a child running as the user.
 */
export async function injectKeys(root: string, user: string, keys: readonly string[], logger: Logger = silentLogger): Promise<InjectResult> {
  const pw = await lookupUser(root, user);
  const homeParts = pw.home.split('/').filter((p) => p.length > 0 && p !== '.');
  if (homeParts.includes('..')) throw new OperationError('E_AGENT_UNSAFE_PATH', `home of ${user} (${pw.home}) contains ..`);
  // The home itself is checked as root (it may be root-owned, e.g. /root); .ssh and the file as the user.
  const target = { root, dirs: [...homeParts, '.ssh'], name: 'authorized_keys', uid: pw.uid, gid: pw.gid, create: true, fixDirMode: true, mode: 0o600, dirMode: 0o700 };
  const existing = ((await safeRead(target)) ?? Buffer.alloc(0)).toString('utf8');
  const { text, added } = mergeAuthorizedKeys(existing, keys);
  const path = `${pw.home.replace(/\/$/, '')}/.ssh/authorized_keys`;
  if (added === 0 && existing.length > 0) {
    logger.info({ user, path, added: 0 }, 'authorized_keys already holds every key');
    return { user, path, added: 0, total: keys.length };
  }
  await safeWrite(target, Buffer.from(text, 'utf8'), logger);
  logger.info({ user, path, added, keys: keys.length }, 'authorized_keys updated');
  return { user, path, added, total: keys.length };
}
