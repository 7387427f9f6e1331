import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RECORD_SHAPES, RESULT_SHAPES } from './generated/meta.generated.js';

const repo = join(import.meta.dirname, '../../..');

interface Generator {
  generate(api: unknown): Record<string, string>;
  locateApiJson(start?: string): string;
  parseType(t: string): unknown;
}

const load = async (): Promise<Generator> =>
  (await import(pathToFileURL(join(repo, 'tools/xenapi-gen/generate.mjs')).href)) as Generator;

describe('xenapi-gen', () => {
  it('checked-in src/generated/ is what the generator makes from shared/data/xenapi.json', async () => {
    const gen = await load();
    const api = JSON.parse(readFileSync(gen.locateApiJson(repo), 'utf8'));
    const files = gen.generate(api);
    for (const [name, text] of Object.entries(files)) {
      const current = readFileSync(join(import.meta.dirname, 'generated', name), 'utf8');
      // Regenerate with: node tools/xenapi-gen/generate.mjs
      expect(current === text, `${name} is stale: run node tools/xenapi-gen/generate.mjs`).toBe(true);
    }
  });

  it('parses nested map and set types', async () => {
    const gen = await load();
    expect(gen.parseType('(VM ref -> (string -> string) map) map')).toEqual({
      k: 'map',
      key: { k: 'ref', cls: 'VM' },
      of: { k: 'map', key: { k: 'string' }, of: { k: 'string' } },
    });
    expect(gen.parseType('enum vm_operations set')).toEqual({ k: 'set', of: { k: 'enum', name: 'vm_operations' } });
  });

  it('knows where ints and datetimes are', () => {
    expect(RESULT_SHAPES['VM.get_all_records']).toBe('%@VM');
    expect(RESULT_SHAPES['event.from']).toBe('B');
    expect(RECORD_SHAPES.vm!.memory_static_max).toBe('i');
    expect(RECORD_SHAPES.vdi!.snapshot_time).toBe('d');
    expect(RECORD_SHAPES.vm!.name_label).toBeUndefined();
  });
});
