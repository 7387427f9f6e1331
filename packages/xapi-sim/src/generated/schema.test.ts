import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findXenapiJson, GENERATED_PATH, renderFromFile } from '../../scripts/schema-source.js';

describe('generated method table', () => {
  it('is current with shared/data/xenapi.json (regenerate with scripts/generate-schema.ts)', () => {
    const fresh = renderFromFile(findXenapiJson(import.meta.dirname));
    expect(readFileSync(GENERATED_PATH, 'utf8') === fresh).toBe(true);
  });
});
