import { describe, expect, it } from 'vitest';
import { exec, requireTools } from '@xenkit/fixtures';
import { belongsToImage, cacheFileName, classifyName, novaGroup } from './naming.js';

const SHA = 'a'.repeat(40);

describe('cacheFileName', () => {
  it("is the SHA-1 of the image id's UTF-8 bytes, as sha1sum computes it", () => {
    requireTools('sha1sum');
    for (const id of ['155d900f-4e14-4e4c-a73d-069cbf4541e6', 'ami-00000001', 'ünïcode-id']) {
      const expected = exec('sha1sum', [], { input: Buffer.from(id, 'utf8') }).stdout.split(' ')[0];
      expect(cacheFileName(id)).toBe(expected);
    }
  });
});

describe('names', () => {
  const table: [string, string, string][] = [
    [SHA, 'original', 'original'],
    [`${SHA}_sm`, 'legacy-small', 'resized'],
    [`${SHA}_20`, 'resized', 'resized'],
    [`${SHA}_21474836480`, 'resized', 'resized'],
    // 42 characters: nova's `len(ent) > digest_size + 2` test skips it.
    [`${SHA}_5`, 'resized', 'ignored'],
    [`${SHA}.part`, 'unknown', 'ignored'],
    [`${SHA}_x1`, 'unknown', 'resized'],
    ['z'.repeat(40), 'unknown', 'original'],
    ['swap_512', 'swap', 'swap'],
    ['swap_', 'unknown', 'ignored'],
    ['swap_1_2', 'unknown', 'ignored'],
    ['ephemeral_20_40d1321', 'ephemeral', 'ephemeral'],
    ['ephemeral_20_default', 'ephemeral', 'ephemeral'],
    ['ephemeral_x_40d1321', 'unknown', 'ignored'],
    ['README', 'unknown', 'ignored'],
  ];
  it.each(table)('%s is %s to us and %s to nova', (name, ours, nova) => {
    expect(classifyName(name)).toBe(ours);
    expect(novaGroup(name, 'base-swap-ephemeral')).toBe(nova);
  });

  it('older rules ignore ephemeral files, the oldest swap files too', () => {
    expect(novaGroup('ephemeral_20_40d1321', 'base-swap')).toBe('ignored');
    expect(novaGroup('swap_512', 'base-swap')).toBe('swap');
    expect(novaGroup('swap_512', 'base')).toBe('ignored');
  });

  it('ties an image to its original, _sm and resized copies only', () => {
    expect(belongsToImage(SHA, SHA)).toBe(true);
    expect(belongsToImage(`${SHA}_sm`, SHA)).toBe(true);
    expect(belongsToImage(`${SHA}_5`, SHA)).toBe(true);
    expect(belongsToImage(`${SHA}.part`, SHA)).toBe(false);
    expect(belongsToImage('b'.repeat(40), SHA)).toBe(false);
  });
});
