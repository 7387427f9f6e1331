// One Vitest setup for every project, so each vite.config.ts stays a two-liner.
// The '@xenkit/source' condition makes sibling packages resolve to their TypeScript
// source (see each package.json "exports"), so tests never need a prior build.
import { defaultServerConditions, type UserConfig } from 'vite';
import type { InlineConfig } from 'vitest/node';

const conditions = ['@xenkit/source', ...defaultServerConditions];
const workspaceRoot = import.meta.dirname;

export interface ProjectOptions {
  /** Test files, relative to the project root. */
  include?: string[];
  /** Per-test timeout in ms; suites that build images with real tools need more than Vitest's 5 s. */
  testTimeout?: number;
  /** Vitest pool options, for suites that must not run files in parallel. */
  fileParallelism?: boolean;
}

export function projectConfig(
  name: string,
  root: string,
  options: ProjectOptions = {},
): UserConfig & { test: InlineConfig } {
  return {
    root,
    cacheDir: `${workspaceRoot}/node_modules/.vite/${name.replace('@xenkit/', '')}`,
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@xenkit/source'] } },
    test: {
      name,
      watch: false,
      environment: 'node',
      include: options.include ?? ['src/**/*.test.ts'],
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 120_000,
      fileParallelism: options.fileParallelism ?? true,
      // The JSON report feeds the "N passed, N failed" line `npm test` prints at the end.
      reporters: ['default', 'json'],
      outputFile: { json: `${workspaceRoot}/test-output/vitest/${name.replace('@xenkit/', '')}.json` },
    },
  };
}
