import { defineConfig } from 'vite';
import { projectConfig } from '../../vitest.shared.js';

export default defineConfig(projectConfig('@xenkit/image-check', import.meta.dirname, { testTimeout: 60_000 }));
