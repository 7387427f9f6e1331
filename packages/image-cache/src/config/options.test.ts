import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isXenkitError } from '@xenkit/core';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { loadCacheConfig } from './options.js';
import { osloResolve } from '../test-helpers/oslo.js';
import { osloView } from '../test-helpers/conf-fuzz.js';

const tmp = tempDir('xenkit-novaconf-');
afterAll(() => tmp.cleanup());
let n = 0;
function conf(text: string): string {
  const file = join(tmp.path, `nova-${++n}.conf`);
  writeFileSync(file, text);
  return file;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (isXenkitError(error)) return error.code;
    throw error;
  }
  return 'no error';
}


// Each case is resolved by the real oslo.config too; our values must equal its values.
const CASES: Record<string, string> = {
  'nova defaults': '[DEFAULT]\n',
  'legacy names in [DEFAULT] and [libvirt]': [
    '[DEFAULT]',
    'state_path = /srv/nova',
    'image_cache_subdirectory_name = _cache',
    'remove_unused_base_images = False',
    'remove_unused_original_minimum_age_seconds = 600',
    'image_cache_manager_interval = 60',
    'preallocate_images = space',
    '[libvirt]',
    'remove_unused_resized_minimum_age_seconds = 120',
  ].join('\n'),
  'current [image_cache] names win over legacy ones': [
    '[DEFAULT]',
    'instances_path = /data/instances',
    'image_cache_subdirectory_name = _old',
    'remove_unused_original_minimum_age_seconds = 1',
    '[image_cache]',
    'subdirectory_name = _new',
    'remove_unused_original_minimum_age_seconds: 7200',
    'remove_unused_base_images = off',
    '[libvirt]',
    'remove_unused_resized_minimum_age_seconds = 5',
    '[IMAGE_CACHE]',
    'remove_unused_resized_minimum_age_seconds = 99',
  ].join('\n'),
  'quotes, continuation lines, comments and interpolation': [
    '# nova.conf',
    '[DEFAULT]',
    'state_path = "/var/lib/nova2"',
    '; another comment',
    'instances_path = ${state_path}/inst',
    '[image_cache]',
    "subdirectory_name = '_base$$x'",
    'remove_unused_base_images = yes',
    'manager_interval = -1',
  ].join('\n'),
  'last assignment wins': '[DEFAULT]\ninstances_path = /a\ninstances_path = /b\n[image_cache]\nsubdirectory_name=_x\n',
};

describe('nova.conf resolution agrees with oslo.config', () => {
  requireTools('/usr/bin/python3');
  for (const [name, text] of Object.entries(CASES)) {
    it(name, async () => {
      const file = conf(text);
      const ours = await loadCacheConfig({ files: [file] });
      expect(osloView(ours)).toEqual(osloResolve([file]));
    });
  }

  it('reads a config directory as --config-dir does: *.conf in sorted order, after the files', async () => {
    const dir = join(tmp.path, 'nova.conf.d');
    mkdirSync(dir);
    writeFileSync(join(dir, '10-base.conf'), '[image_cache]\nsubdirectory_name = _ten\nmanager_interval = 10\n');
    writeFileSync(join(dir, '20-over.conf'), '[image_cache]\nsubdirectory_name = _twenty\n');
    writeFileSync(join(dir, '30-ignored.conf.bak'), '[image_cache]\nsubdirectory_name = _bak\n');
    writeFileSync(join(dir, '.99-hidden.conf'), '[image_cache]\nsubdirectory_name = _hidden\n');
    const file = conf('[DEFAULT]\ninstances_path = /x\n[image_cache]\nsubdirectory_name = _file\nremove_unused_base_images = false\n');
    const ours = await loadCacheConfig({ files: [file], dirs: [dir] });
    expect(osloView(ours)).toEqual(osloResolve([file], [dir]));
    expect(ours.cacheDir).toBe('/x/_twenty');
    expect(await codeOf(loadCacheConfig({ dirs: [join(tmp.path, 'no-such.d')] }))).toBe('E_NOVA_CONF_READ');
  });

  it('rejects what oslo.config rejects', async () => {
    const bad = {
      'assignment before any section': 'instances_path = /x\n',
      'unterminated section': '[DEFAULT\ninstances_path=/x\n',
      'line without = or :': '[DEFAULT]\ninstances_path\n',
      'continuation with no key': '[DEFAULT]\n  /x\n',
      'bad boolean': '[image_cache]\nremove_unused_base_images = maybe\n',
      'bad integer': '[image_cache]\nremove_unused_original_minimum_age_seconds = 1d\n',
      'integer below min': '[image_cache]\nmanager_interval = -2\n',
      'bad choice': '[DEFAULT]\npreallocate_images = full\n',
      'unknown reference': '[DEFAULT]\ninstances_path = $nowhere/x\n',
    };
    for (const [what, text] of Object.entries(bad)) {
      const file = conf(text);
      const oslo = osloResolve([file]);
      expect('error' in oslo, `oslo.config accepts "${what}"`).toBe(true);
      const code = await codeOf(loadCacheConfig({ files: [file] }));
      expect(code, what).toMatch(/^E_NOVA_CONF_(PARSE|VALUE|SUBSTITUTION)$/);
    }
  });
});

describe('loadCacheConfig', () => {
  it('names where each value came from and flags deprecated spellings', async () => {
    const file = conf('[DEFAULT]\nimage_cache_subdirectory_name = _c\n[libvirt]\nremove_unused_resized_minimum_age_seconds = 7\n');
    const c = await loadCacheConfig({ files: [file] });
    expect(c.cacheDir).toBe('/var/lib/nova/instances/_c');
    expect(c.sources.subdirectory_name).toMatchObject({ from: 'file', group: 'DEFAULT', line: 2, deprecated: true });
    expect(c.sources.instances_path.from).toBe('default');
    expect(c.deprecations).toHaveLength(2);
    expect(c.deprecations[0]).toContain('nova now reads [image_cache] subdirectory_name');
  });

  it('applies --set overrides last, by current or legacy name, with an optional group', async () => {
    const file = conf('[DEFAULT]\ninstances_path = /from/file\n[image_cache]\nsubdirectory_name = _base_$my_ip\n');
    const c = await loadCacheConfig({
      files: [file],
      overrides: ['instances_path=/over', 'my_ip=10.0.0.5', 'libvirt.remove_unused_resized_minimum_age_seconds=9', 'DEFAULT/remove_unused_base_images=false'],
    });
    expect(c.cacheDir).toBe('/over/_base_10.0.0.5');
    expect(c.resizedMinimumAgeSeconds).toBe(9);
    expect(c.removeUnusedBaseImages).toBe(false);
    expect(c.sources.instances_path).toEqual({ from: 'override', raw: '/over' });
  });

  it('gives coded errors for bad overrides and unreadable files', async () => {
    expect(await codeOf(loadCacheConfig({ overrides: ['no-equals-sign'] }))).toBe('E_CACHE_SET_SYNTAX');
    expect(await codeOf(loadCacheConfig({ overrides: ['image_cache.instances_path=/x'] }))).toBe('E_CACHE_SET_UNKNOWN');
    expect(await codeOf(loadCacheConfig({ overrides: ['remove_unused_base_images=perhaps'] }))).toBe('E_NOVA_CONF_VALUE');
    expect(await codeOf(loadCacheConfig({ files: [join(tmp.path, 'absent.conf')] }))).toBe('E_NOVA_CONF_READ');
    expect(await codeOf(loadCacheConfig({ files: [tmp.path] }))).toBe('E_NOVA_CONF_READ');
    expect(await codeOf(loadCacheConfig({ overrides: ['instances_path=$instances_path/x'] }))).toBe('E_NOVA_CONF_SUBSTITUTION');
  });

  it('refuses non-regular files without reading them, and files over 8 MiB after reading at most 8 MiB + 1', async () => {
    requireTools('mkfifo', 'truncate');
    const started = Date.now();
    await expect(loadCacheConfig({ files: ['/dev/zero'] })).rejects.toMatchObject({ code: 'E_NOVA_CONF_READ', details: { kind: 'a character device' } });
    const fifo = join(tmp.path, 'fifo.conf');
    exec('mkfifo', [fifo]);
    await expect(loadCacheConfig({ files: [fifo] })).rejects.toMatchObject({ code: 'E_NOVA_CONF_READ', details: { kind: 'a FIFO' } });
    await expect(loadCacheConfig({ files: [tmp.path] })).rejects.toMatchObject({ code: 'E_NOVA_CONF_READ', details: { kind: 'a directory' } });
    const big = join(tmp.path, 'big.conf');
    const limit = 8 * 1024 * 1024;
    writeFileSync(big, `[DEFAULT]\n#${'x'.repeat(limit - 12)}\n`); // exactly the limit is accepted
    expect((await loadCacheConfig({ files: [big] })).files).toEqual([big]);
    exec('truncate', ['-s', String(limit + 1), big]);
    await expect(loadCacheConfig({ files: [big] })).rejects.toMatchObject({ code: 'E_NOVA_CONF_PARSE', details: { file: big, limit } });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops an exponentially nesting substitution quickly with a coded error', async () => {
    // l(i+1) = $li ten times: 374 bytes that expand to 10^9 copies of l0.
    const lines = ['[DEFAULT]', 'l0 = abcd'];
    for (let i = 1; i <= 9; i++) lines.push(`l${i} = ${`$l${i - 1}`.repeat(10)}`);
    lines.push('instances_path = /x/$l9');
    const file = conf(lines.join('\n') + '\n');
    const started = Date.now();
    await expect(loadCacheConfig({ files: [file] })).rejects.toMatchObject({ code: 'E_NOVA_CONF_SUBSTITUTION', details: { limit: 64 * 1024 } });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Repeats that expand to nothing cost no time either (each reference is expanded once).
    const empty = ['[DEFAULT]', 'e0 ='];
    for (let i = 1; i <= 12; i++) empty.push(`e${i} = ${`$e${i - 1}`.repeat(10)}`);
    empty.push('instances_path = /x$e12');
    const t2 = Date.now();
    expect((await loadCacheConfig({ files: [conf(empty.join('\n') + '\n')] })).instancesPath).toBe('/x');
    expect(Date.now() - t2).toBeLessThan(2_000);
  });

  it('points at the offending line of a malformed file', async () => {
    const file = conf('[DEFAULT]\n\n[image_cache\n');
    await expect(loadCacheConfig({ files: [file] })).rejects.toMatchObject({
      code: 'E_NOVA_CONF_PARSE',
      details: { file, line: 3 },
    });
  });
});
