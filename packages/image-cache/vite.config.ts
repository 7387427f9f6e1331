import { defineConfig } from 'vite';
import { projectConfig } from '../../vitest.shared.js';

export default defineConfig(projectConfig('@xenkit/image-cache', import.meta.dirname));
