// The decisive proof: established XenAPI clients, run as separate processes, against the lab.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execAsync, requireTools } from '@xenkit/fixtures';
import { startLab, type RunningLab } from './index.js';

const here = join(import.meta.dirname, 'conformance');
let lab: RunningLab;
beforeAll(async () => {
  lab = await startLab({ authFailureDelayMs: 20, vms: 3 });
});
afterAll(() => lab.close());

describe.each(['json-rpc', 'xml-rpc'])('npm xen-api (Vates) over %s', (transport) => {
  it('connects, reads records, runs tasks, watches events and uploads a VDI', async () => {
    const r = await execAsync(process.execPath, [join(here, 'xen-api-client.mjs'), lab.url, transport], { timeoutMs: 60_000 });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    expect(out.error).toBeUndefined();
    expect(out).toMatchObject({
      status: 'connected',
      poolName: 'xenkit lab',
      vmCount: 8,
      watchedName: `conformance-${transport}`,
      watchedTemplate: true,
      sawMod: true,
      powerAfterStart: 'Running',
      asyncFailure: { code: 'VM_BAD_POWER_STATE', params: [out.cloneRef, 'halted', 'running'] },
      syncFailure: { code: 'VM_IS_TEMPLATE' },
      putResultIsVdi: true,
      exportLength: 4 * 1024 * 1024,
      exportMatches: true,
      exportTaskHeader: true,
      sawDel: true,
    });
    expect(out.memory).toBe('2147483648');
    expect(Number(out.physicalUtilisation)).toBeGreaterThanOrEqual(1024 * 1024);
  });
});

describe('npm xen-api over HTTPS (self-signed, allowUnauthorized)', () => {
  it('runs the same session against a --tls lab', async () => {
    const tls = await startLab({ authFailureDelayMs: 20, vms: 3, tls: true });
    try {
      expect(tls.url).toMatch(/^https:/);
      expect(tls.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      const r = await execAsync(process.execPath, [join(here, 'xen-api-client.mjs'), tls.url, 'json-rpc'], { timeoutMs: 60_000 });
      const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
      expect(out.error).toBeUndefined();
      expect(out).toMatchObject({ status: 'connected', putResultIsVdi: true, exportMatches: true, sawDel: true });
    } finally {
      await tls.close();
    }
  });
});

describe("Debian's python3-os-xenapi (XenAPI.py)", () => {
  it('logs in, reads records, runs an Async task and sees XAPI Failure shapes', async () => {
    requireTools('/usr/bin/python3');
    const r = await execAsync('/usr/bin/python3', [join(here, 'xenapi_client.py'), lab.url], { timeoutMs: 60_000 });
    const out = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(out).toMatchObject({
      pool: 'xenkit lab',
      vm_count: 8,
      memory_static_max: '1073741824',
      memory_type: 'str',
      is_a_template_type: 'bool',
      shadow_type: 'float',
      domain_type: 'pv',
      task_status: 'success',
      task_progress: 1,
      task_result: '',
      power_state: 'Running',
      failed_task_status: 'failure',
      failure_details: ['HANDLE_INVALID', 'VM', 'OpaqueRef:nonexistent'],
      count_mismatch: ['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.start', '3', '1'],
      empty_batch_events: 0,
      event_ops: ['mod'],
      event_class: 'vm',
      event_snapshot_other_config: { base_template_name: 'Generic Linux PV (legacy)', xenkit: '1' },
    });
    expect((out.failed_task_error_info as string[])[0]).toBe('VM_BAD_POWER_STATE');
    expect((out.bad_power_state as string[]).slice(2)).toEqual(['running', 'halted']);
    expect(out.valid_ref_counts).toEqual({ vm: expect.any(Number) });
  });
});
