import { readFileSync } from 'node:fs';

// Read at run time from the package manifest so the version has a single source of truth.
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
export const VERSION: string = manifest.version;
