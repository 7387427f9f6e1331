import { defineConfig } from 'vite';
import { projectConfig } from '../vitest.shared.js';

export default defineConfig(
  projectConfig('@xenkit/e2e', import.meta.dirname, {
    include: ['src/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    fileParallelism: false,
  }),
);
