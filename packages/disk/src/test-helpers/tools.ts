import { exec } from '@xenkit/fixtures';

/** `blkid -p -o export` on a byte range of an image (the real tool's verdict for a volume). */
export function blkidAt(image: string, offset: number, size?: number): Record<string, string> {
  const args = ['-p', '-o', 'export', '-O', String(offset)];
  if (size !== undefined) args.push('-S', String(size));
  const r = exec('blkid', [...args, image], { allowFailure: true });
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** parted's view, as nova reads it: `parted --script --machine IMG 'unit s' print` → number → fs type. */
export function partedFsTypes(image: string): Map<number, string> {
  const r = exec('parted', ['--script', '--machine', image, 'unit s', 'print']);
  const out = new Map<number, string>();
  for (const line of r.stdout.trim().split('\n').slice(2)) {
    const [num, , , , fstype] = line.replace(/;$/, '').split(':');
    out.set(Number(num), fstype ?? '');
  }
  return out;
}
