import { MAX_PACKAGES, type Application } from './types.js';

/** /lib/apk/db/installed: blank-line separated records of `X:value` lines (P name, V version, A arch). */
export function parseApkInstalled(text: string): Application[] {
  const out: Application[] = [];
  for (const rec of text.split(/\n\s*\n/)) {
    if (out.length >= MAX_PACKAGES) break;
    const f = new Map<string, string>();
    for (const line of rec.split('\n')) {
      const m = /^([A-Za-z]):(.*)$/.exec(line);
      if (m && !f.has(m[1] as string)) f.set(m[1] as string, m[2] as string);
    }
    const name = f.get('P');
    if (!name) continue;
    const app: Application = { name };
    const v = /^(.*?)(?:-r(\d+))?$/.exec(f.get('V') ?? '');
    if (v?.[1]) app.version = v[1];
    if (v?.[2]) app.release = `r${v[2]}`;
    if (f.get('A')) app.arch = f.get('A');
    if (f.get('T')) app.summary = f.get('T');
    if (f.get('U')) app.url = f.get('U');
    out.push(app);
  }
  return out;
}
