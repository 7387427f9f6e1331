// `npm run fixtures`: fetch every test fixture that comes from the network (today: Debian's cloud kernel,
// at the version pinned in the cache) into node_modules/.cache/xenkit-fixtures, so test runs never touch
// the network. `npm test` runs it before Nx; it does nothing when the cache is already complete.
import { ensureInstalled, root, run } from './lib.mjs';

ensureInstalled();
const script = `
const { prefetchFixtures } = await import('@xenkit/fixtures');
for (const f of prefetchFixtures()) console.error('fixtures: ' + f.name + ': ' + f.detail);
`;
const status = run(process.execPath, ['--conditions=@xenkit/source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
process.exit(status);
