// Run the workspace's own nx (never `npx nx`, which may fetch another version) with CI-safe settings.
import { join } from 'node:path';
import { ensureInstalled, nxEnv, root, run } from './lib.mjs';

ensureInstalled();
process.exit(run(process.execPath, [join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...process.argv.slice(2)], { env: nxEnv }));
