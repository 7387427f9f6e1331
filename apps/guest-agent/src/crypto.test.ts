import { describe, expect, it } from 'vitest';
import { exec, requireTools } from '@xenkit/fixtures';
import { DH_PRIME, DiffieHellman, decryptPassword, evpBytesToKey, parsePeerPublic } from './crypto.js';

describe('nova password crypto', () => {
  for (const md of ['md5', 'sha256'] as const) {
    it(`EVP_BytesToKey(${md}) matches openssl enc -P`, () => {
      requireTools('openssl');
      const pass = '98765432109876543210';
      const out = exec('openssl', ['enc', '-aes-128-cbc', '-nosalt', '-P', '-md', md, '-pass', `pass:${pass}`]).stdout;
      const { key, iv } = evpBytesToKey(Buffer.from(pass), md);
      expect(out).toContain(`key=${key.toString('hex').toUpperCase()}`);
      expect(out).toContain(`iv =${iv.toString('hex').toUpperCase()}`);
    });
  }

  it('decrypts what openssl encrypts, with either derivation, and refuses garbage', () => {
    for (const md of ['md5', 'sha256'] as const) {
      const enc = exec('openssl', ['enc', '-aes-128-cbc', '-a', '-A', '-nosalt', '-md', md, '-pass', 'pass:1234567'], { input: 'S3cret pass!\n' }).stdout.trim();
      expect(decryptPassword(enc, '1234567')).toEqual({ password: 'S3cret pass!', digest: md });
      expect(() => decryptPassword(enc, '7654321')).toThrow(/does not decrypt/);
    }
    expect(() => decryptPassword('!!!', '1')).toThrow(/base64/);
    expect(() => decryptPassword('AAAA', '1')).toThrow(/multiple of 16/);
  });

  it('DH: 256-bit exponent, public value in range, shared secrets agree', () => {
    const a = new DiffieHellman();
    const b = new DiffieHellman();
    expect(a.publicKey > 1n && a.publicKey < DH_PRIME).toBe(true);
    expect(a.computeShared(b.publicKey)).toBe(b.computeShared(a.publicKey));
    for (const bad of ['0', '1', String(DH_PRIME - 1n), String(DH_PRIME), '', ' ', '1e5', '0x10']) expect(() => parsePeerPublic(bad)).toThrow();
    expect(parsePeerPublic(' 68436575764933852815830951574296\n')).toBe(68436575764933852815830951574296n);
  });
});
