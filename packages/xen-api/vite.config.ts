import { defineConfig } from 'vite';
import { projectConfig } from '../../vitest.shared.js';

export default defineConfig(projectConfig('@xenkit/xen-api', import.meta.dirname));
