// Drives the lab with Vates' npm `xen-api` client (the one Xen Orchestra uses) and prints one JSON
// object of observations. Run: node xen-api-client.mjs URL json-rpc|xml-rpc
import { createClient } from 'xen-api';

const [url, transport] = process.argv.slice(2);
const out = {};
const xapi = createClient({ url, auth: { user: 'root', password: 'xenkit' }, allowUnauthorized: true, transport });
const until = async (what, fn, ms = 10_000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
try {
  await xapi.connect();
  out.status = xapi.status;
  out.poolName = xapi.pool.name_label;
  const vms = Object.values(await xapi.getAllRecords('VM'));
  out.vmCount = vms.length;
  out.vmNames = vms.map((v) => v.name_label).sort();
  const running = vms.find((v) => v.name_label === 'lab-vm-1');
  out.memoryType = typeof running.memory_static_max;
  out.memory = String(running.memory_static_max);

  await xapi.objectsFetched;
  const template = vms.find((v) => v.is_a_template && v.name_label === 'Debian Bookworm 12');
  const clone = await xapi.callAsync('VM.clone', template.$ref, `conformance-${transport}`);
  out.cloneRef = clone;
  const watched = await until('clone event', () => xapi.getObjectByRef(clone, undefined));
  out.watchedName = watched.name_label;
  out.watchedTemplate = watched.is_a_template;
  await xapi.call('VM.set_is_a_template', clone, false);
  await until('mod event', () => (xapi.getObjectByRef(clone).is_a_template === false ? true : undefined));
  out.sawMod = true;
  await xapi.callAsync('VM.start', clone, false, false);
  out.powerAfterStart = await xapi.call('VM.get_power_state', clone);
  try {
    await xapi.callAsync('VM.start', clone, false, false);
  } catch (e) {
    out.asyncFailure = { code: e.code, params: e.params };
  }
  try {
    await xapi.call('VM.start', template.$ref, false, false);
  } catch (e) {
    out.syncFailure = { code: e.code, params: e.params };
  }

  const sr = xapi.pool.default_SR;
  const vdi = await xapi.call('VDI.create', {
    name_label: 'conformance', SR: sr, virtual_size: 4 * 1024 * 1024, type: 'user', sharable: false, read_only: false, other_config: {},
  });
  const data = Buffer.alloc(1024 * 1024, 0x5a);
  out.putResultIsVdi = (await xapi.putResource(data, '/import_raw_vdi/', { query: { format: 'raw', vdi } })) === vdi;
  const res = await xapi.getResource('/export_raw_vdi/', { query: { format: 'raw', vdi } });
  const chunks = [];
  for await (const c of res.body) chunks.push(c);
  const back = Buffer.concat(chunks);
  out.exportLength = back.length;
  out.exportMatches = back.subarray(0, data.length).equals(data) && back.subarray(data.length).every((b) => b === 0);
  out.exportTaskHeader = typeof res.headers['task-id'] === 'string' && res.headers['task-id'].startsWith('OpaqueRef:');
  out.physicalUtilisation = String(await xapi.call('VDI.get_physical_utilisation', vdi));
  await xapi.call('VDI.destroy', vdi);
  await xapi.call('VM.hard_shutdown', clone);
  await xapi.call('VM.destroy', clone);
  await until('del event', () => (xapi.getObjectByRef(clone, undefined) === undefined ? true : undefined));
  out.sawDel = true;
} catch (e) {
  out.error = { message: e.message, code: e.code, params: e.params };
} finally {
  await xapi.disconnect().catch(() => {});
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
