import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type RunningLab } from './index.js';
import { jsonCall, login, postRaw, xmlCall } from './test-helpers/rpc.js';

let lab: RunningLab;
let session: string;
beforeAll(async () => {
  lab = await startLab({ authFailureDelayMs: 50, vms: 2 });
  session = await login(lab.url);
});
afterAll(() => lab.close());

describe('XML-RPC marshalling as XAPI does it', () => {
  it('wraps results in Status/Value with untyped strings and int64', async () => {
    const vms = (await jsonCall(lab.url, 'VM.get_by_name_label', [session, 'lab-vm-1'])).result as string[];
    const r = await postRaw(lab.url, '/RPC2', xmlCall('VM.get_memory_static_max', [session, vms[0] as string]));
    expect(r.type).toBe('text/xml');
    expect(r.text).toBe(
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member>' +
        '<member><name>Value</name><value>2147483648</value></member></struct></value></param></params></methodResponse>',
    );
    const b = await postRaw(lab.url, '/', xmlCall('VM.get_is_a_template', [session, vms[0] as string]));
    expect(b.text).toContain('<value><boolean>0</boolean></value>');
    const d = await postRaw(lab.url, '/', xmlCall('VM.get_HVM_shadow_multiplier', [session, vms[0] as string]));
    expect(d.text).toContain('<value><double>1</double></value>');
    const t = await postRaw(lab.url, '/', xmlCall('VM.get_snapshot_time', [session, vms[0] as string]));
    expect(t.text).toContain('<value><dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601></value>');
  });

  it('answers any POST path by longest prefix (/xmlrpc → "/")', async () => {
    const r = await postRaw(lab.url, '/xmlrpc', xmlCall('session.logout', ['OpaqueRef:nope']));
    expect(r.text).toContain('<value>SESSION_INVALID</value><value>OpaqueRef:nope</value>');
  });

  it('does not wrap system.listMethods', async () => {
    const r = await postRaw(lab.url, '/', xmlCall('system.listMethods', []));
    expect(r.text.startsWith('<?xml version="1.0"?><methodResponse><params><param><value><array><data>')).toBe(true);
    expect(r.text).toContain('<value>Async.VM.start</value>');
    expect(r.text).not.toContain('<value>Async.VM.get_record</value>');
  });

  it('returns HTTP 500 with HTML on malformed bodies and keeps serving', async () => {
    for (const body of ['', '<methodCall>', '<methodCall><methodName>x</methodName><params><param><value><int>zz</int></value></param></params></methodCall>']) {
      const r = await postRaw(lab.url, '/', body);
      expect(r.status).toBe(500);
      expect(r.type).toBe('text/html');
    }
    const j = await postRaw(lab.url, '/jsonrpc', '{"method":', 'application/json');
    expect(j.status).toBe(500);
    expect(await login(lab.url)).toMatch(/^OpaqueRef:/);
  });
});

describe('errors as XAPI raises them', () => {
  it('MESSAGE_METHOD_UNKNOWN and MESSAGE_PARAMETER_COUNT_MISMATCH exclude the session and honour defaults', async () => {
    expect((await jsonCall(lab.url, 'VM.frobnicate', [session])).error).toEqual({ code: 1, message: 'MESSAGE_METHOD_UNKNOWN', data: ['VM.frobnicate'] });
    expect((await jsonCall(lab.url, 'VM.start', [session, 'x'], false)).error).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.start', '3', '1']);
    expect((await jsonCall(lab.url, 'session.login_with_password', ['root'])).error).toMatchObject({ data: ['session.login_with_password', '2', '1'] });
    for (const extra of [[], ['1.0'], ['1.0', 'test']]) {
      expect((await jsonCall(lab.url, 'session.login_with_password', ['root', 'xenkit', ...extra])).result).toMatch(/^OpaqueRef:/);
    }
  });

  it('HANDLE_INVALID, UUID_INVALID, MAP_DUPLICATE_KEY, SESSION_INVALID', async () => {
    expect((await jsonCall(lab.url, 'VM.get_record', [session, 'OpaqueRef:missing'])).error).toMatchObject({ message: 'HANDLE_INVALID', data: ['VM', 'OpaqueRef:missing'] });
    expect((await jsonCall(lab.url, 'SR.get_by_uuid', [session, 'nope'])).error).toMatchObject({ message: 'UUID_INVALID', data: ['SR', 'nope'] });
    const pool = ((await jsonCall(lab.url, 'pool.get_all', [session])).result as string[])[0] as string;
    expect((await jsonCall(lab.url, 'pool.add_to_other_config', [session, pool, 'k', 'v'])).result).toBe('');
    expect((await jsonCall(lab.url, 'pool.add_to_other_config', [session, pool, 'k', 'w'])).error).toMatchObject({ message: 'MAP_DUPLICATE_KEY', data: ['pool', 'other_config', pool, 'k'] });
    expect((await jsonCall(lab.url, 'VM.get_all', ['OpaqueRef:bad'])).error).toMatchObject({ message: 'SESSION_INVALID', data: ['OpaqueRef:bad'] });
  });

  it('delays SESSION_AUTHENTICATION_FAILED by the configured time', async () => {
    const t0 = Date.now();
    const r = await jsonCall(lab.url, 'session.login_with_password', ['root', 'wrong'], false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(r.error).toEqual(['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure']);
  });

  it('keeps a map key named __proto__ as an ordinary key over XML-RPC and JSON-RPC', async () => {
    const vm = ((await jsonCall(lab.url, 'VM.get_by_name_label', [session, 'lab-vm-1'])).result as string[])[0] as string;
    const map = '<struct><member><name>__proto__</name><value>xml</value></member><member><name>a</name><value>1</value></member></struct>';
    const set = await postRaw(lab.url, '/RPC2', xmlCall('VM.set_other_config', [session, vm, map]));
    expect(set.text).toContain('Success');
    const got = await postRaw(lab.url, '/RPC2', xmlCall('VM.get_other_config', [session, vm]));
    expect(got.text).toContain('<member><name>__proto__</name><value>xml</value></member>');
    const body = `{"jsonrpc":"2.0","id":1,"method":"VM.set_other_config","params":["${session}","${vm}",{"__proto__":"json"}]}`;
    expect(JSON.parse((await postRaw(lab.url, '/jsonrpc', body, 'application/json')).text)).toHaveProperty('result');
    await jsonCall(lab.url, 'VM.add_to_other_config', [session, vm, 'b', '2']);
    const back = (await jsonCall(lab.url, 'VM.get_other_config', [session, vm])).result as Record<string, string>;
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'b']);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe('json');
  });

  it('serves int64 as JSON integers and Int32 valid_ref_counts as <i4>', async () => {
    const r = await postRaw(lab.url, '/', xmlCall('event.from', [session, '<array><data><value>host</value></data></array>', '', '<double>0.1</double>']));
    expect(r.text).toMatch(/<member><name>host<\/name><value><i4>1<\/i4><\/value><\/member>/);
    expect(r.text).toMatch(/<name>token<\/name><value>\d{20},\d{20}<\/value>/);
  });
});
