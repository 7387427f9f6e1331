import { defineConfig } from 'vite';
import { projectConfig } from '../../vitest.shared.js';

const config = projectConfig('@xenkit/pv-kernel', import.meta.dirname, { testTimeout: 120_000 });
// The Debian kernel is fetched once per machine before any test file runs, so parallel files never race.
config.test.globalSetup = ['./src/test-helpers/global-setup.ts'];
export default defineConfig(config);
