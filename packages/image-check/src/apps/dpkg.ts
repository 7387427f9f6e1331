import { MAX_PACKAGES, type Application } from './types.js';

/**
 * /var/lib/dpkg/status: RFC822-style stanzas. A package counts when its Status line's state (third
 * word) is exactly "installed" (libguestfs's rule), e.g. "install ok installed".
 */
export function parseDpkgStatus(text: string): Application[] {
  const out: Application[] = [];
  let fields = new Map<string, string>();
  let last = '';
  const finish = (): void => {
    if (fields.size > 0 && out.length < MAX_PACKAGES) {
      const app = toApplication(fields);
      if (app) out.push(app);
    }
    fields = new Map();
    last = '';
  };
  // One pass over the lines: a real status file is 1–3 MB, and most of it (Conffiles, long
  // Descriptions, Depends) is never looked at.
  let at = 0;
  while (at <= text.length && out.length < MAX_PACKAGES) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end);
    at = end + 1;
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) {
      // A continuation line; only the Description's are kept. A whitespace-only line ends the stanza.
      if (line.trim() === '') finish();
      else if (last === 'description') fields.set(last, `${fields.get(last)}\n${line.trim()}`);
      continue;
    }
    if (line === '') {
      finish();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || !FIELD_NAME.test(line.slice(0, colon))) continue;
    last = line.slice(0, colon).toLowerCase();
    if (!WANTED.has(last)) continue;
    const value = line.slice(colon + 1);
    fields.set(last, value.startsWith(' ') ? value.slice(1) : value);
  }
  finish();
  return out;
}

const FIELD_NAME = /^[A-Za-z0-9-]+$/;
const WANTED = new Set(['package', 'status', 'version', 'architecture', 'source', 'description', 'homepage']);

function toApplication(fields: Map<string, string>): Application | null {
  const name = fields.get('package');
  const status = fields.get('status') ?? '';
  // The third word is the package state; "half-installed" and friends are not installed.
  if (!name || status.trim().split(/\s+/)[2] !== 'installed') return null;
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
  return app;
}
