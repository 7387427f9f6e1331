// Small text helpers shared by the human views of every command (the --json view never uses them).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Binary-prefixed size with one decimal ("1.5 GiB"); whole bytes below 1 KiB. */
export function bytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

// SGR sequences (colour, bold, dim) take no columns on a terminal.
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/g;

/** Columns a string takes on a terminal, ignoring colour codes. */
export function visibleWidth(s: string): number {
  return s.replace(SGR, '').length;
}

/**
 * Rows as indented, two-space separated columns, each as wide as its widest cell (colour codes not
 * counted). The last cell of a row is never padded, so lines carry no trailing spaces.
 */
export function table(rows: string[][], indent = '  '): string[] {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(0, ...rows.map((r) => visibleWidth(r[c] ?? ''))));
  return rows.map((r) =>
    `${indent}${r.map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat((widths[c] ?? 0) - visibleWidth(cell)))).join('  ')}`.trimEnd(),
  );
}
