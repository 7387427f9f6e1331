import { MAX_PACKAGES, type Application } from './types.js';

/**
 * /var/lib/dpkg/status: RFC822-style stanzas. A package counts when its Status line's state (third
 * word) is exactly "installed" (libguestfs's rule), e.g. "install ok installed".
 */
export function parseDpkgStatus(text: string): Application[] {
  const out: Application[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    if (out.length >= MAX_PACKAGES) break;
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)}\n${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
      if (m) {
        last = (m[1] as string).toLowerCase();
        fields.set(last, m[2] as string);
      }
    }
    const name = fields.get('package');
    const status = fields.get('status') ?? '';
    // The third word is the package state; "half-installed" and friends are not installed.
    if (!name || status.trim().split(/\s+/)[2] !== 'installed') continue;
    const full = fields.get('version') ?? '';
    const em = /^(?:(\d+):)?(.*?)(?:-([^-]+))?$/.exec(full);
    const [summary, ...desc] = (fields.get('description') ?? '').split('\n');
    const app: Application = { name };
    if (em?.[1]) app.epoch = Number(em[1]);
    if (em?.[2]) app.version = em[2];
    if (em?.[3]) app.release = em[3];
    const arch = fields.get('architecture');
    if (arch) app.arch = arch;
    const src = fields.get('source');
    if (src) app.sourcePackage = src.split(/\s/)[0];
    if (summary) app.summary = summary;
    if (desc.length > 0) app.description = desc.map((l) => (l === '.' ? '' : l)).join('\n');
    const url = fields.get('homepage');
    if (url) app.url = url;
    out.push(app);
  }
  return out;
}
