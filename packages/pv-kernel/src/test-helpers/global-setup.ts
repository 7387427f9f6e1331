import { ensureDebianKernel } from '@xenkit/fixtures';

/** Vitest global setup: fetch the real Debian kernel once, before test files run in parallel. */
export default function setup(): void {
  ensureDebianKernel();
}
