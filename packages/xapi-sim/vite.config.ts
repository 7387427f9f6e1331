import { defineConfig } from 'vite';
import { projectConfig } from '../../vitest.shared.js';

export default defineConfig(projectConfig('@xenkit/xapi-sim', import.meta.dirname, { testTimeout: 60_000 }));
