import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { CacheRunOptions, NovaAction, NovaRules, SettingsReport, runCacheClean, runCachePreallocate, runCacheScan } from '@xenkit/image-cache';
import { emit, type Style } from '../context.js';
import { bytes, table } from '../format.js';
import type { CommandModule } from '../program.js';

/** Where nova-compute reads its configuration when neither --conf nor --conf-dir is given. */
const NOVA_CONF = '/etc/nova/nova.conf';
const NOVA_CONF_DIR = '/etc/nova/nova.conf.d';

interface CommonOpts {
  conf: string[];
  confDir: string[];
  set: string[];
  novaRules: NovaRules;
  imageId?: string[];
  yes?: boolean;
  dryRun?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * image-cache's NOVA_RULES, spelled out so that defining the command never loads image-cache
 * (cache.test.ts keeps the two equal).
 */
export const CACHE_NOVA_RULES: readonly NovaRules[] = ['base-swap-ephemeral', 'base-swap', 'base'];

// Loaded by the action that runs, not at start: every command is defined on each start.
const loadImageCache = () => import('@xenkit/image-cache');

function withCommon(cmd: Command): Command {
  return cmd
    .option('--conf <file>', `nova.conf to read, repeatable, later files win (default: ${NOVA_CONF} if present)`, collect, [])
    .option('--conf-dir <dir>', `read its *.conf files after --conf, as nova's --config-dir (default: ${NOVA_CONF_DIR} if present)`, collect, [])
    .option('--set <key=value>', 'override an option, e.g. remove_unused_base_images=false (repeatable)', collect, [])
    .addOption(
      new Option('--nova-rules <rules>', "which nova release's rules and log wording to reproduce")
        .choices([...CACHE_NOVA_RULES])
        .default('base-swap-ephemeral'),
    );
}

function runOptions(ctx: Parameters<CommandModule>[0], o: CommonOpts): CacheRunOptions {
  const explicit = o.conf.length > 0 || o.confDir.length > 0;
  const files = explicit ? o.conf : [NOVA_CONF].filter((f) => existsSync(f));
  const dirs = explicit ? o.confDir : [NOVA_CONF_DIR].filter((d) => existsSync(d));
  return {
    files,
    dirs,
    overrides: o.set,
    rules: o.novaRules,
    imageIds: o.imageId ?? [],
    yes: o.yes === true && o.dryRun !== true,
    logger: ctx.logger,
  };
}

export const cacheCommand: CommandModule = (ctx) => {
  const cache = new Command('cache').description("nova's image cache (_base): what nova will remove, safe cleanup, preallocation");

  cache.addCommand(
    withCommon(new Command('scan'))
      .description(
        'list every cached file with its class, use, age and what nova would do, and the lines nova would log; ' +
          'exits 1 when nova would remove a file a disk still reads, or a disk has lost its backing file',
      )
      .option('--image-id <id>', 'a Glance image id in use (image_ref, kernel_id or ramdisk_id); repeatable', collect, [])
      .action(async (o: CommonOpts) => {
        const r = await (await loadImageCache()).runCacheScan(runOptions(ctx, o));
        emit(ctx, r, renderScan);
        if (r.missingBackings.length > 0 || r.entries.some((e) => e.novaWouldBreak)) ctx.exitCode = 1;
      }),
  );

  cache.addCommand(
    withCommon(new Command('clean'))
      .description('remove unused base files old enough for their kind (only with --yes; otherwise a dry run)')
      .option('--image-id <id>', 'a Glance image id in use; its files are kept (repeatable)', collect, [])
      .option('--yes', 'really remove', false)
      .option('--dry-run', 'only report (the default without --yes)', false)
      .action(async (o: CommonOpts) => {
        const r = await (await loadImageCache()).runCacheClean(runOptions(ctx, o));
        emit(ctx, r, renderClean);
        if (r.aborted || r.items.some((i) => i.action === 'failed')) ctx.exitCode = 1;
      }),
  );

  cache.addCommand(
    withCommon(new Command('preallocate'))
      .description('with preallocate_images=space, find instance disks that are not fully allocated; --yes fallocates them')
      .option('--yes', 'really fallocate (keeps size and data)', false)
      .option('--dry-run', 'only report (the default without --yes)', false)
      .action(async (o: CommonOpts) => {
        const r = await (await loadImageCache()).runCachePreallocate(runOptions(ctx, o));
        emit(ctx, r, renderPreallocate);
        if (r.summary.failed > 0) ctx.exitCode = 1;
      }),
  );
  return cache;
};

export function age(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

const NOVA_WORDS: Record<NovaAction, string> = {
  'keep-in-use': 'keep (in use)',
  remove: 'remove',
  'too-young': 'keep (too young)',
  'keep-removal-disabled': 'keep (removal off)',
  ignored: 'ignore',
};

function renderSettings(st: SettingsReport, s: Style): string[] {
  const out = [
    `${s.bold(st.cacheDir)} (nova.conf: ${st.files.length > 0 ? st.files.join(', ') : "none, nova's defaults"})`,
    `remove_unused_base_images=${st.removeUnusedBaseImages}  original min age ${st.originalMinimumAgeSeconds}s  resized min age ${st.resizedMinimumAgeSeconds}s`,
  ];
  for (const d of st.deprecations) out.push(s.yellow(`deprecated: ${d}`));
  return out;
}

export function renderScan(r: Awaited<ReturnType<typeof runCacheScan>>, s: Style): string {
  const out = renderSettings(r.settings, s);
  const rows = [['class', 'in use', 'age', 'nova would', 'file'].map((c) => s.dim(c))];
  for (const e of r.entries) {
    const nova = e.novaWouldBreak ? s.red('remove (IN USE!)') : NOVA_WORDS[e.novaAction];
    const used = e.inUse ? `yes` : 'no';
    rows.push([e.class, used, age(e.ageSeconds), nova, e.name]);
  }
  out.push(...table(rows));
  for (const e of r.entries.filter((x) => x.inUse)) out.push(s.dim(`  ${e.name} used by ${e.usedBy.join(', ')}`));
  for (const e of r.entries.filter((x) => x.novaWouldBreak)) {
    out.push(s.red(`nova would remove ${e.path} although ${e.usedBy.join(', ')} reads it below its backing file`));
  }
  for (const m of r.missingBackings) out.push(s.red(`${m.disk}: backing file ${m.backing} is missing`));
  for (const k of r.skipped) out.push(s.dim(`skipped ${k.path}: ${k.reason}`));
  if (r.novaLog.length > 0) {
    out.push(s.bold('nova would log:'));
    for (const l of r.novaLog) out.push(`  ${l.level === 'warning' ? s.yellow('WARNING') : 'INFO'} ${l.message}`);
  }
  const m = r.summary;
  out.push(`${m.files} file(s), ${m.inUse} in use; nova would remove ${m.novaRemoves} (${bytes(m.bytesNovaRemoves)}), ${m.tooYoung} too young`);
  return out.join('\n');
}

export function renderClean(r: Awaited<ReturnType<typeof runCacheClean>>, s: Style): string {
  const out = renderSettings(r.settings, s);
  if (!r.removeUnusedBaseImages) out.push(s.yellow('remove_unused_base_images is false: nothing is removed'));
  const rows = [['action', 'class', 'file', 'why'].map((c) => s.dim(c))];
  for (const i of r.items) {
    const action = i.action === 'removed' ? s.green(i.action) : i.action === 'failed' ? s.red(i.action) : i.action;
    rows.push([action, i.class, i.name, i.reason]);
  }
  out.push(...table(rows));
  if (r.aborted) out.push(s.red(`stopped: ${r.aborted.code}: ${r.aborted.message}`));
  const would = r.items.filter((i) => i.action === 'would-remove');
  if (r.dryRun) {
    out.push(`dry run: would remove ${would.length} file(s), ${bytes(would.reduce((n, i) => n + i.allocatedBytes, 0))}; pass --yes to remove`);
  } else {
    out.push(`removed ${r.removed.length} file(s), freed ${bytes(r.bytesFreed)}`);
  }
  return out.join('\n');
}

export function renderPreallocate(r: Awaited<ReturnType<typeof runCachePreallocate>>, s: Style): string {
  const out = [`preallocate_images=${r.mode} (instances: ${r.settings.instancesPath})`];
  const rows = [['action', 'format', 'allocated', 'target', 'disk', 'why'].map((c) => s.dim(c))];
  for (const d of r.disks) {
    const action = d.action === 'fallocated' ? s.green(d.action) : d.action === 'failed' ? s.red(d.action) : d.action;
    rows.push([action, d.format, bytes(d.allocatedAfter ?? d.allocatedBytes), bytes(d.targetBytes), d.path, d.reason]);
  }
  out.push(...table(rows));
  const m = r.summary;
  out.push(
    r.dryRun
      ? `${m.notFullyAllocated} disk(s) not fully allocated (${bytes(m.bytesMissing)} missing)${m.notFullyAllocated > 0 && r.mode === 'space' ? '; pass --yes to fallocate' : ''}`
      : `fallocated ${m.fallocated} disk(s), ${m.failed} failed`,
  );
  return out.join('\n');
}
