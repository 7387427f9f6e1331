import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exec, requireTools, tempDir } from '@xenkit/fixtures';
import { NOVA_RULES } from '@xenkit/image-cache';
import { runCaptured } from '../test-helpers/capture.js';
import { CACHE_NOVA_RULES } from './cache.js';

const DAY = 86400;
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

interface Tree {
  root: string;
  conf: string;
  base: string;
  instances: string;
  files: Record<string, string>;
  cleanup: () => void;
}

const trees: Tree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

/** An instances_path with one instance on a raw base, and unused originals, resized and swap files of chosen ages. */
function tree(): Tree {
  requireTools('qemu-img');
  const tmp = tempDir('xenkit-cli-cache-');
  const instances = join(tmp.path, 'instances');
  const base = join(instances, '_base');
  mkdirSync(base, { recursive: true });
  const files = {
    used: sha1('img-used'),
    old: sha1('img-old'),
    young: sha1('img-young'),
    resized: `${sha1('img-old')}_10737418240`,
    swap: 'swap_256',
    unknown: 'notes.txt',
  };
  const now = Date.now() / 1000;
  const ages: Record<string, number> = { used: 5 * DAY, old: 2 * DAY, young: 60, resized: 2 * 3600, swap: 2 * DAY, unknown: 9 * DAY };
  for (const [role, name] of Object.entries(files)) {
    const p = join(base, name);
    if (role === 'unknown') writeFileSync(p, 'hello\n');
    else exec('qemu-img', ['create', '-q', '-f', 'raw', p, '1M']);
  }
  mkdirSync(join(instances, 'inst-a'));
  exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(base, files.used), '-F', 'raw', join(instances, 'inst-a', 'disk')]);
  for (const [role, name] of Object.entries(files)) utimesSync(join(base, name), now - ages[role]!, now - ages[role]!);
  const conf = join(tmp.path, 'nova.conf');
  writeFileSync(conf, `[DEFAULT]\ninstances_path = ${instances}\n`);
  const t = { root: tmp.path, conf, base, instances, files, cleanup: tmp.cleanup };
  trees.push(t);
  return t;
}

describe('xenkit cache scan', () => {
  it("shows each file's class, use, age and nova's plan, and nova's log lines", async () => {
    const t = tree();
    const r = await runCaptured(['cache', 'scan', '--conf', t.conf]);
    expect(r.status).toBe(0);
    const p = (k: string) => join(t.base, t.files[k]!);
    expect(r.stdout).toMatch(new RegExp(`original\\s+yes\\s+5d00h\\s+keep \\(in use\\)\\s+${t.files.used}`));
    expect(r.stdout).toMatch(new RegExp(`original\\s+no\\s+1m\\s+keep \\(too young\\)\\s+${t.files.young}`));
    expect(r.stdout).toMatch(new RegExp(`resized\\s+no\\s+2h00m\\s+remove\\s+${t.files.resized}`));
    expect(r.stdout).toMatch(/unknown\s+no\s+9d00h\s+ignore\s+notes\.txt/);
    expect(r.stdout).toContain(`WARNING Unknown base file: ${p('old')}`);
    expect(r.stdout).toContain(`INFO Active base files: ${p('used')}`);
    expect(r.stdout).toContain(`INFO Removable base files: `);
    expect(r.stdout).toContain(`INFO Removing base, swap or ephemeral file: ${p('old')}`);
    expect(r.stdout).toContain(`INFO Base, swap or ephemeral file too young to remove: ${p('young')}`);
    expect(r.stdout).toContain(`INFO Removing base, swap or ephemeral file: ${p('swap')}`);
    expect(r.stdout).toMatch(/6 file\(s\), 1 in use; nova would remove 3 \([\d.]+ KiB\), 1 too young/);
  });

  it('prints the 2012 wording with --nova-rules base, and the same data as JSON with --json', async () => {
    const t = tree();
    const human = await runCaptured(['cache', 'scan', '--conf', t.conf, '--nova-rules', 'base']);
    expect(human.stdout).toContain(`INFO Removing base file: ${join(t.base, t.files.old)}`);
    expect(human.stdout).toContain(`INFO Base file too young to remove: ${join(t.base, t.files.young)}`);
    const json = await runCaptured(['cache', 'scan', '--conf', t.conf, '--image-id', 'img-old', '--json']);
    expect(json.status).toBe(0);
    const data = JSON.parse(json.stdout) as { entries: { name: string; usedBy: string[]; novaAction: string }[]; novaLog: { message: string }[] };
    const old = data.entries.find((e) => e.name === t.files.old)!;
    expect(old).toMatchObject({ usedBy: ['image:img-old'], novaAction: 'keep-in-use' });
    expect(data.novaLog[0]!.message).toBe(`image img-old at (${join(t.base, t.files.old)}): checking`);
  });

  it('exits 1 when nova would remove a file that a disk reads below its backing file', async () => {
    const t = tree();
    // The resized copy is a qcow2 overlay of the original; nova looks only at the instance's direct backing.
    const orig = join(t.base, sha1('img-layered'));
    const top = `${orig}_20`;
    exec('qemu-img', ['create', '-q', '-f', 'raw', orig, '1M']);
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', orig, '-F', 'raw', top]);
    mkdirSync(join(t.instances, 'inst-b'));
    exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', top, '-F', 'qcow2', join(t.instances, 'inst-b', 'disk')]);
    const old = Date.now() / 1000 - 3 * DAY;
    utimesSync(orig, old, old);
    const r = await runCaptured(['cache', 'scan', '--conf', t.conf]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`nova would remove ${orig} although ${join(t.instances, 'inst-b', 'disk')} reads it below its backing file`);
    const clean = await runCaptured(['cache', 'clean', '--conf', t.conf, '--yes']);
    expect(clean.status).toBe(0);
    expect(existsSync(orig)).toBe(true);
  });

  it('reads --conf-dir after --conf, as nova does', async () => {
    const t = tree();
    const dir = join(t.root, 'nova.conf.d');
    mkdirSync(dir);
    writeFileSync(join(dir, '50-cache.conf'), '[image_cache]\nremove_unused_original_minimum_age_seconds = 864000\n');
    const r = await runCaptured(['cache', 'scan', '--conf', t.conf, '--conf-dir', dir, '--json']);
    const data = JSON.parse(r.stdout) as { settings: { originalMinimumAgeSeconds: number; files: string[] }; summary: { novaRemoves: number } };
    expect(data.settings.originalMinimumAgeSeconds).toBe(864000);
    expect(data.settings.files).toEqual([t.conf, join(dir, '50-cache.conf')]);
    // Only the resized copy (2 h, resized limit 1 h) is old enough now; originals and swap need 10 days.
    expect(data.summary.novaRemoves).toBe(1);
  });
});

describe('xenkit cache clean', () => {
  it('is a dry run without --yes', async () => {
    const t = tree();
    const before = readdirSync(t.base).sort();
    const r = await runCaptured(['cache', 'clean', '--conf', t.conf]);
    expect(r.status).toBe(0);
    expect(readdirSync(t.base).sort()).toEqual(before);
    expect(r.stdout).toMatch(/dry run: would remove 3 file\(s\), [\d.]+ KiB; pass --yes to remove/);
    const dry = await runCaptured(['cache', 'clean', '--conf', t.conf, '--yes', '--dry-run']);
    expect(dry.stdout).toContain('dry run');
    expect(readdirSync(t.base).sort()).toEqual(before);
  });

  it('with --yes removes the unused files old enough for their kind and reports them', async () => {
    const t = tree();
    const r = await runCaptured(['cache', 'clean', '--conf', t.conf, '--yes', '--json']);
    expect(r.status).toBe(0);
    const data = JSON.parse(r.stdout) as { removed: string[]; dryRun: boolean };
    expect(data.dryRun).toBe(false);
    expect(data.removed.sort()).toEqual(['old', 'resized', 'swap'].map((k) => join(t.base, t.files[k]!)).sort());
    expect(readdirSync(t.base).sort()).toEqual([t.files.used, t.files.young, t.files.unknown].sort());
    exec('qemu-img', ['info', '--backing-chain', '-U', join(t.instances, 'inst-a', 'disk')]);
  });

  it('removes nothing when remove_unused_base_images is false', async () => {
    const t = tree();
    const r = await runCaptured(['cache', 'clean', '--conf', t.conf, '--set', 'remove_unused_base_images=false', '--yes']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('remove_unused_base_images is false: nothing is removed');
    expect(readdirSync(t.base)).toHaveLength(6);
  });
});

describe('xenkit cache: bad input', () => {
  it.each([
    ['a missing nova.conf', (t: Tree) => ['--conf', join(t.root, 'absent.conf')], 'E_NOVA_CONF_READ'],
    ['a malformed nova.conf', (t: Tree) => ['--conf', writeConf(t, 'instances_path = /x\n')], 'E_NOVA_CONF_PARSE'],
    ['a bad boolean', (t: Tree) => ['--conf', t.conf, '--set', 'remove_unused_base_images=sure'], 'E_NOVA_CONF_VALUE'],
    ['a bad --set', (t: Tree) => ['--conf', t.conf, '--set', 'justaword'], 'E_CACHE_SET_SYNTAX'],
    ['a missing instances_path', (t: Tree) => ['--conf', t.conf, '--set', `instances_path=${join(t.root, 'gone')}`], 'E_CACHE_DIR_MISSING'],
    ['an unreadable instance disk', (t: Tree) => ['--conf', t.conf, ...corruptDisk(t)], 'E_CACHE_DISK_UNREADABLE'],
  ])('%s exits 2 with a code and removes nothing', async (_what, args, code) => {
    const t = tree();
    const before = readdirSync(t.base).sort();
    const r = await runCaptured(['cache', 'clean', ...args(t), '--yes']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${code}: `));
    expect(readdirSync(t.base).sort()).toEqual(before);
  });

  it('offers exactly the nova rules image-cache knows', () => {
    expect(CACHE_NOVA_RULES).toEqual(NOVA_RULES);
  });

  it('rejects unknown --nova-rules as a usage error', async () => {
    const r = await runCaptured(['cache', 'scan', '--nova-rules', 'grizzly']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^E_USAGE: /);
  });
});

function writeConf(t: Tree, text: string): string {
  const p = join(t.root, 'bad.conf');
  writeFileSync(p, text);
  return p;
}

function corruptDisk(t: Tree): string[] {
  mkdirSync(join(t.instances, 'inst-bad'));
  writeFileSync(join(t.instances, 'inst-bad', 'disk'), Buffer.from('QFI\xfb\x00\x00', 'latin1'));
  return [];
}

describe('xenkit cache preallocate', () => {
  it('lists disks that are not fully allocated and fallocates them with --yes', async () => {
    requireTools('fallocate');
    const t = tree();
    const disk = join(t.instances, 'inst-a', 'disk');
    const dry = await runCaptured(['cache', 'preallocate', '--conf', t.conf, '--set', 'preallocate_images=space']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`would-fallocate\\s+qcow2\\s+.*${disk}`));
    const none = await runCaptured(['cache', 'preallocate', '--conf', t.conf, '--yes']);
    expect(none.stdout).toContain('preallocate_images=none');
    expect(none.stdout).toContain('skipped');
    const r = await runCaptured(['cache', 'preallocate', '--conf', t.conf, '--set', 'preallocate_images=space', '--yes', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ mode: 'space', summary: { fallocated: 1, failed: 0 } });
    expect(statSync(disk).blocks * 512).toBeGreaterThanOrEqual(1024 * 1024);
    expect(existsSync(disk)).toBe(true);
    exec('qemu-img', ['check', '-q', disk]);
  });
});
