// Builds the deployable agent: one ES module (dist/xenkit-agent.mjs) that runs with a plain `node`,
// no npm or node_modules on the guest. Workspace packages resolve to their TypeScript source.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const outfile = join(here, '..', 'dist', 'xenkit-agent.mjs');

export async function bundle(out = outfile) {
  await build({
    entryPoints: [join(here, '..', 'src', 'main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@xenkit/source'],
    legalComments: 'none',
    logLevel: 'warning',
    banner: {
      js: "// xenkit-agent bundle\nimport { createRequire as __xkCreateRequire } from 'node:module';\nconst require = __xkCreateRequire(import.meta.url);",
    },
  });
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await bundle(process.argv[2]));
}
