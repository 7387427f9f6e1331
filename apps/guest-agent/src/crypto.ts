import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { InputError } from '@xenkit/core';

/**
 * nova's key exchange: Diffie-Hellman over the Mersenne prime 2^107−1 with generator 5. The group
 * is far too small to be secure; it is what nova speaks, so the password is only as safe as dom0's
 * xenstore is private. We at least use a full-size private exponent and refuse degenerate peers.
 */
export const DH_PRIME = (1n << 107n) - 1n;
export const DH_GENERATOR = 5n;

export class AgentCryptoError extends InputError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'AgentCryptoError';
  }
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

/** Parses the host's public value: a decimal integer in [2, p−2]. */
export function parsePeerPublic(text: string): bigint {
  const t = text.trim();
  if (!/^\d{1,40}$/.test(t)) throw new AgentCryptoError('E_AGENT_DH_BAD_VALUE', 'keyinit value is not a decimal integer of at most 40 digits');
  const v = BigInt(t);
  if (v <= 1n || v >= DH_PRIME - 1n) {
    throw new AgentCryptoError('E_AGENT_DH_BAD_VALUE', 'keyinit value is outside [2, p-2] (0, 1, p-1 and values >= p give a predictable secret)');
  }
  return v;
}

export class DiffieHellman {
  private readonly secret: bigint;
  readonly publicKey: bigint;

  constructor(secret?: bigint) {
    // 256 random bits, well above the 107-bit group; forced non-zero.
    this.secret = secret ?? BigInt(`0x${randomBytes(32).toString('hex')}`) | (1n << 255n);
    this.publicKey = modPow(DH_GENERATOR, this.secret, DH_PRIME);
  }

  /** The shared secret as nova uses it: its decimal string is the OpenSSL passphrase. */
  computeShared(peer: bigint): string {
    return modPow(peer, this.secret, DH_PRIME).toString(10);
  }
}

/** OpenSSL's EVP_BytesToKey with no salt and one iteration: D_i = H(D_{i-1} || pass). */
export function evpBytesToKey(pass: Buffer, hash: 'md5' | 'sha256', keyLen = 16, ivLen = 16): { key: Buffer; iv: Buffer } {
  const parts: Buffer[] = [];
  let prev = Buffer.alloc(0);
  let total = 0;
  while (total < keyLen + ivLen) {
    prev = createHash(hash).update(prev).update(pass).digest();
    parts.push(prev);
    total += prev.length;
  }
  const all = Buffer.concat(parts);
  return { key: all.subarray(0, keyLen), iv: all.subarray(keyLen, keyLen + ivLen) };
}

function tryDecrypt(cipher: Buffer, pass: Buffer, hash: 'md5' | 'sha256'): string | undefined {
  const { key, iv } = evpBytesToKey(pass, hash);
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-128-cbc', key, iv);
    plain = Buffer.concat([d.update(cipher), d.final()]);
  } catch {
    return undefined;
  }
  const text = plain.toString('utf8');
  // A wrong key passes the padding check 1 time in ~256; demand printable UTF-8 as well.
  if (Buffer.from(text, 'utf8').compare(plain) !== 0) return undefined;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (body.length === 0 || /[\u0000-\u001f\u007f]/.test(body)) return undefined;
  return body;
}

/**
 * Decrypts nova's `password` value: base64 of `openssl enc -aes-128-cbc -nosalt -pass pass:<shared>`.
 * dom0's OpenSSL derives the key with MD5 before 1.1.0 and SHA-256 after, so both are tried.
 */
export function decryptPassword(b64: string, shared: string): { password: string; digest: 'md5' | 'sha256' } {
  const clean = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(clean) || clean.length % 4 !== 0) {
    throw new AgentCryptoError('E_AGENT_PASSWORD_BAD_BASE64', 'password value is not base64');
  }
  const cipher = Buffer.from(clean, 'base64');
  if (cipher.length === 0 || cipher.length % 16 !== 0 || cipher.length > 1024) {
    throw new AgentCryptoError('E_AGENT_PASSWORD_BAD_LENGTH', `password ciphertext is ${cipher.length} bytes; expected a non-empty multiple of 16 up to 1024`);
  }
  const pass = Buffer.from(shared, 'utf8');
  for (const digest of ['md5', 'sha256'] as const) {
    const password = tryDecrypt(cipher, pass, digest);
    if (password !== undefined) return { password, digest };
  }
  throw new AgentCryptoError('E_AGENT_PASSWORD_DECRYPT', 'password does not decrypt with the negotiated key (MD5 or SHA-256 derivation); was keyinit run first?');
}
