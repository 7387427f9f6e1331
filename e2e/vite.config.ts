import { defineConfig } from 'vite';
import { projectConfig } from '../vitest.shared.js';

// projectConfig assumes projects two levels down (packages/NAME); e2e/ is one, so fix its paths.
const config = projectConfig('@xenkit/e2e', import.meta.dirname, {
  include: ['src/**/*.e2e.test.ts'],
  testTimeout: 120_000,
  fileParallelism: false,
});
config.cacheDir = `${import.meta.dirname}/../node_modules/.vite/e2e`;
config.test.outputFile = { json: `${import.meta.dirname}/../test-output/vitest/e2e.json` };

export default defineConfig(config);
