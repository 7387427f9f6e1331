import { exec } from '@xenkit/fixtures';

export const READNOTES = '/usr/lib/xen-4.17/bin/readnotes';

/** Xen's own readnotes on an (unwrapped) ELF: its note lines, and its __xen_guest line apart. */
export function readnotes(path: string, allowFailure = false): { lines: string[]; xenGuest: string | null; stdout: string } {
  const r = exec(READNOTES, [path], { allowFailure });
  const lines: string[] = [];
  let xenGuest: string | null = null;
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('__xen_guest: ')) xenGuest = line.slice('__xen_guest: '.length);
    else lines.push(line);
  }
  return { lines, xenGuest, stdout: r.stdout };
}
