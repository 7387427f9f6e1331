import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { InputError, OperationError } from '@xenkit/core';
import { emit, type CliContext, type GlobalOptions } from './context.js';
import type { CommandModule } from './program.js';
import { runCaptured } from './test-helpers/capture.js';

// A probe command exercising the shell: it records what the shell handed it and fails on request,
// so these tests pin the contract every real command relies on.
function probe(seen: { globals?: GlobalOptions; target?: string; opts?: unknown }): CommandModule {
  return (ctx: CliContext) =>
    new Command('probe')
      .argument('<target>')
      .option('--fail <kind>', 'input | operation | internal | verdict')
      .option('--count <n>', 'a number', (v) => Number.parseInt(v, 10))
      .action((target: string, opts: { fail?: string; count?: number }) => {
        seen.globals = ctx.globals;
        seen.target = target;
        seen.opts = opts;
        if (opts.fail === 'input') throw new InputError('E_BAD_IMAGE', `${target}: not a disk image`, { details: { path: target } });
        if (opts.fail === 'operation') throw new OperationError('E_XAPI', 'the host said no');
        if (opts.fail === 'internal') throw new TypeError('oops');
        if (opts.fail === 'verdict') ctx.exitCode = 1;
        emit(ctx, { target, count: opts.count ?? 0 }, (d, style) => `${style.bold(d.target)} ${d.count}`);
      });
}

describe('xenkit shell', () => {
  it('parses global options before and after the command', async () => {
    const seen: Parameters<typeof probe>[0] = {};
    const r = await runCaptured(['--log-level', 'debug', 'probe', 'disk.img', '--count', '3', '--json', '-q'], {
      modules: [probe(seen)],
    });
    expect(r.status).toBe(0);
    expect(seen.target).toBe('disk.img');
    expect(seen.opts).toMatchObject({ count: 3 });
    expect(seen.globals).toEqual({ json: true, logLevel: 'debug', quiet: true, color: false });
    expect(JSON.parse(r.stdout)).toEqual({ target: 'disk.img', count: 3 });
  });

  it('prints the human view without ANSI codes when not a TTY or --no-color', async () => {
    const r = await runCaptured(['probe', 'x', '--no-color'], { modules: [probe({})] });
    expect(r.stdout).toBe('x 0\n');
  });

  it.each([
    ['input', 2, 'E_BAD_IMAGE'],
    ['operation', 1, 'E_XAPI'],
    ['internal', 1, 'E_INTERNAL'],
  ])('maps a %s error to exit %i with its code on stderr', async (kind, status, code) => {
    const r = await runCaptured(['probe', 'img', '--fail', kind], { modules: [probe({})] });
    expect(r.status).toBe(status);
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^${code}: `));
    expect(r.stdout).toBe('');
  });

  it('prints no stack for expected errors unless --log-level debug', async () => {
    const quiet = await runCaptured(['probe', 'img', '--fail', 'input'], { modules: [probe({})] });
    expect(quiet.stderr).toBe('E_BAD_IMAGE: img: not a disk image\n');
    const debug = await runCaptured(['--log-level', 'debug', 'probe', 'img', '--fail', 'input'], {
      modules: [probe({})],
    });
    expect(debug.stderr).toMatch(/at .*run\.test\.ts/);
  });

  it('prints errors as JSON on stdout with --json', async () => {
    const r = await runCaptured(['probe', 'img', '--fail', 'input', '--json'], { modules: [probe({})] });
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: 'E_BAD_IMAGE', message: 'img: not a disk image', category: 'input', details: { path: 'img' } },
    });
  });

  it('exits 1 when a command reports a failed verdict', async () => {
    const r = await runCaptured(['probe', 'img', '--fail', 'verdict'], { modules: [probe({})] });
    expect(r.status).toBe(1);
  });

  it.each([
    [['probe'], /missing required argument/],
    [['probe', 'x', '--bogus'], /unknown option/],
    [['nosuch'], /unknown command/],
    [['--log-level', 'loud', 'probe', 'x'], /Allowed choices/],
  ])('reports usage error %j as E_USAGE with exit 2', async (argv, pattern) => {
    const r = await runCaptured(argv, { modules: [probe({})] });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^E_USAGE: /);
    expect(r.stderr).toMatch(pattern);
  });

  it('prints --version and --help with examples, exit 0', async () => {
    const v = await runCaptured(['--version'], { modules: [] });
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await runCaptured(['--help'], { modules: [probe({})] });
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('Examples:');
    expect(h.stdout).toContain('probe');
  });

  it('prints help and exits 2 with no arguments', async () => {
    const r = await runCaptured([], { modules: [probe({})] });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Usage: xenkit');
  });
});
