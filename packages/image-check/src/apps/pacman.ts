import type { Application } from './types.js';

/** One /var/lib/pacman/local/NAME-VER-REL/desc file: `%FIELD%` headers followed by value lines. */
export function parsePacmanDesc(text: string): Application | null {
  const f = new Map<string, string[]>();
  let key = '';
  for (const line of text.split('\n')) {
    const m = /^%([A-Z0-9]+)%$/.exec(line.trim());
    if (m) {
      key = m[1] as string;
      f.set(key, []);
    } else if (key && line.trim().length > 0) f.get(key)?.push(line.trim());
  }
  const name = f.get('NAME')?.[0];
  if (!name) return null;
  const app: Application = { name };
  const v = /^(?:(\d+):)?(.*?)(?:-([^-]+))?$/.exec(f.get('VERSION')?.[0] ?? '');
  if (v?.[1]) app.epoch = Number(v[1]);
  if (v?.[2]) app.version = v[2];
  if (v?.[3]) app.release = v[3];
  const arch = f.get('ARCH')?.[0];
  if (arch) app.arch = arch;
  const desc = f.get('DESC')?.[0];
  if (desc) app.summary = desc;
  const url = f.get('URL')?.[0];
  if (url) app.url = url;
  return app;
}
