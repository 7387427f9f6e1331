import { describe, expect, it } from 'vitest';
import { bytes, table, visibleWidth } from './format.js';

describe('bytes', () => {
  it('uses binary units with one decimal, whole bytes below 1 KiB', () => {
    expect(bytes(0)).toBe('0 B');
    expect(bytes(1023)).toBe('1023 B');
    expect(bytes(1024)).toBe('1.0 KiB');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(10 * 1024 ** 3)).toBe('10.0 GiB');
    expect(bytes(2 ** 53)).toBe('8.0 PiB');
    expect(bytes(2 ** 62)).toBe('4.0 EiB');
  });
});

describe('table', () => {
  it('aligns columns to the widest cell, without trailing spaces', () => {
    expect(table([['#', 'size', 'fs'], ['10', '1.0 GiB', 'ext4'], ['2', '5 B', '']])).toEqual([
      '  #   size     fs',
      '  10  1.0 GiB  ext4',
      '  2   5 B',
    ]);
  });

  it('does not count colour codes as columns', () => {
    const dim = (s: string): string => `\u001b[2m${s}\u001b[22m`;
    expect(visibleWidth(dim('size'))).toBe(4);
    const lines = table([[dim('#'), dim('size')], ['10', 'x']]);
    expect(lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''))).toEqual(['  #   size', '  10  x']);
  });

  it('copes with ragged and empty input', () => {
    expect(table([])).toEqual([]);
    expect(table([['a'], ['bb', 'c']])).toEqual(['  a', '  bb  c']);
  });
});
