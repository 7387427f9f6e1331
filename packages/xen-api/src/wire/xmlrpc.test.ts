import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import xmlrpcDeserializer from 'xmlrpc/lib/deserializer.js';
import xmlrpcSerializer from 'xmlrpc/lib/serializer.js';
import { decodeXmlRpc, XmlRpcDecoder } from './xmlrpc-decode.js';
import { encodeXmlRpcCall } from './xmlrpc-encode.js';
import { unwrapXmlRpc } from '../rpc.js';
import { randomTree, rng, type Rng } from '../test-helpers/random-values.js';

// The reference `xmlrpc` package formats dates in local time; pin the zone so both sides agree.
process.env.TZ = 'UTC';

function referenceParseCall(xml: string): Promise<{ method: string; params: unknown[] }> {
  return new Promise((resolve, reject) => {
    const stream = new PassThrough();
    new xmlrpcDeserializer().deserializeMethodCall(stream, (err: unknown, method: string, params: unknown[]) =>
      err ? reject(err) : resolve({ method, params }),
    );
    stream.end(xml);
  });
}

function decodeInChunks(xml: Buffer, random: Rng): ReturnType<XmlRpcDecoder['end']> {
  // batch size 1: every network chunk is scanned as it comes, so every boundary is exercised
  const d = new XmlRpcDecoder(2 ** 31, 1);
  let pos = 0;
  while (pos < xml.length) {
    const n = 1 + Math.floor(random() * 64);
    d.write(xml.subarray(pos, pos + n));
    pos += n;
  }
  return d.end();
}

/** What our encoder promises XAPI: integers travel as decimal strings, like XAPI's own int64. */
function asSentByUs(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (Array.isArray(v)) return v.map(asSentByUs);
  if (v && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asSentByUs(x)]));
  }
  return v;
}

describe('XML-RPC decoder vs the xmlrpc package', () => {
  it('decodes what the reference serializes, in random chunkings (300 random trees)', () => {
    const random = rng(42);
    for (let i = 0; i < 300; i++) {
      const tree = randomTree(random, 4);
      const xml = Buffer.from(xmlrpcSerializer.serializeMethodResponse(tree), 'utf8');
      const got = decodeInChunks(xml, random);
      expect(got.kind).toBe('response');
      expect(got.params).toEqual([tree]);
    }
  });

  it('reads the reference’s CDATA split of "]]>"', () => {
    const xml = xmlrpcSerializer.serializeMethodResponse(['a]]>b', 'x<y&z']);
    expect(decodeXmlRpc(xml).params).toEqual([['a]]>b', 'x<y&z']]);
  });

  it('the reference decodes what we encode (300 random trees)', async () => {
    const random = rng(7);
    for (let i = 0; i < 300; i++) {
      const params = [randomTree(random, 3), randomTree(random, 2)];
      const xml = encodeXmlRpcCall('VM.set_other_config', params);
      const ref = await referenceParseCall(xml);
      expect(ref.method).toBe('VM.set_other_config');
      expect(ref.params).toEqual(asSentByUs(params));
      // and we read our own output back the same way
      expect(decodeXmlRpc(xml)).toMatchObject({ kind: 'call', methodName: 'VM.set_other_config', params: asSentByUs(params) });
    }
  });
});

function referenceParseResponse(xml: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const stream = new PassThrough();
    new xmlrpcDeserializer().deserializeMethodResponse(stream, (err: unknown, v: unknown) => (err ? reject(err) : resolve(v)));
    stream.end(xml);
  });
}

describe('records with repeated member lists (built from learned shapes)', () => {
  const member = (k: string, v: string) => `<member><name>${k}</name><value>${v}</value></member>`;
  const response = (records: string[]) =>
    `<?xml version="1.0"?><methodResponse><params><param><value><array><data>${records
      .map((r) => `<value><struct>${r}</struct></value>`)
      .join('')}</data></array></value></param></params></methodResponse>`;
  const odd = ['uuid', 'a b', 'é', '0', '17', 'constructor', 'toString', 'x&quot;y', 'a&amp;b', 'hasOwnProperty', '', 'k-1'];

  it('decodes like the reference, member order included, for every record after the shape is learned', async () => {
    const keys = [...odd, ...Array.from({ length: 30 }, (_, i) => `field_${i}`)];
    const records = Array.from({ length: 6 }, (_, r) => keys.map((k, i) => member(k, `v${r}.${i}`)).join(''));
    // a record of another shape, one with a member missing, and one past the shape
    records.push(keys.slice(0, 20).map((k, i) => member(k, `w${i}`)).join(''));
    records.push(keys.map((k, i) => member(k, `<array><data><value>${i}</value></data></array>`)).join(''));
    const xml = response(records);
    const want = await referenceParseResponse(xml);
    for (const batch of [1, 1 << 20]) {
      const d = new XmlRpcDecoder(2 ** 31, batch);
      d.write(Buffer.from(xml));
      const got = d.end().params[0] as Record<string, unknown>[];
      expect(got).toEqual(want);
      for (let r = 0; r < got.length; r++) {
        expect(Object.keys(got[r]!)).toEqual(Object.keys((want as Record<string, unknown>[])[r]!));
        expect(Object.getPrototypeOf(got[r])).toBe(Object.prototype);
      }
    }
  });

  it('keeps assignment semantics for repeated names and __proto__ however often the list repeats', () => {
    const keys = Array.from({ length: 20 }, (_, i) => `f${i}`);
    const dup = [...keys, 'f3'];
    const proto = [...keys, '__proto__'];
    for (const list of [dup, proto]) {
      const xml = response(Array.from({ length: 4 }, () => list.map((k, i) => member(k, `v${i}`)).join('')));
      for (const rec of decodeXmlRpc(xml).params[0] as Record<string, unknown>[]) {
        const plain: Record<string, unknown> = {};
        list.forEach((k, i) => (plain[k] = `v${i}`));
        expect(Object.keys(rec)).toEqual(Object.keys(plain));
        expect(rec).toEqual(plain);
        expect(Object.getPrototypeOf(rec)).toBe(Object.getPrototypeOf(plain));
      }
    }
  });
});

describe('XAPI response envelopes', () => {
  const xapi = (inner: string) => `<?xml version="1.0"?>\n<methodResponse><params><param>${inner}</param></params></methodResponse>\n`;

  it('reads XAPI’s untyped values, int64 strings, datetimes and whitespace', () => {
    const body = xapi(`<value><struct><member><name>Status</name><value>Success</value></member>
      <member><name>Value</name><value><struct>
        <member><name>memory_static_max</name><value>17179869184</value></member>
        <member><name>name_label</name><value> a &amp; b &lt;c&gt; &#233;&#x263A; </value></member>
        <member><name>empty</name><value/></member>
        <member><name>last_boot</name><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></member>
        <member><name>VCPUs</name><value><i4>-2</i4></value></member>
        <member><name>big</name><value><i8>9223372036854775807</i8></value></member>
        <member><name>ratio</name><value><double>0.5</double></value></member>
        <member><name>cd</name><value><![CDATA[x<y]]>z</value></member>
        <member><name>blocked</name><value><array><data/></array></value></member>
        <member><name>nothing</name><value><nil/></value></member>
      </struct></value></member></struct></value>`);
    for (const chunking of [1, 3, 1 << 20]) {
      const d = new XmlRpcDecoder(2 ** 31, 1);
      const bytes = Buffer.from(body);
      for (let i = 0; i < bytes.length; i += chunking) d.write(bytes.subarray(i, i + chunking));
      const msg = d.end();
      expect(unwrapXmlRpc(msg.kind, msg.params, 'VM.get_record')).toEqual({
        memory_static_max: '17179869184',
        name_label: ' a & b <c> é☺ ',
        empty: '',
        last_boot: new Date(Date.UTC(2025, 2, 19, 4, 16, 24)),
        VCPUs: -2,
        big: 9223372036854775807n,
        ratio: 0.5,
        cd: 'x<yz',
        blocked: [],
        nothing: null,
      });
    }
  });

  it('maps Failure to XapiError with code and params, and returns system.listMethods unwrapped', () => {
    const fail = decodeXmlRpc(
      xapi(`<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>
      <value><array><data><value>HANDLE_INVALID</value><value>VM</value><value>OpaqueRef:x</value></data></array></value></member></struct></value>`),
    );
    expect(() => unwrapXmlRpc(fail.kind, fail.params, 'VM.start')).toThrow(
      expect.objectContaining({ code: 'HANDLE_INVALID', params: ['VM', 'OpaqueRef:x'], method: 'VM.start' }),
    );
    const list = decodeXmlRpc(xapi('<value><array><data><value>VM.start</value><value>VM.stop</value></data></array></value>'));
    expect(unwrapXmlRpc(list.kind, list.params, 'system.listMethods')).toEqual(['VM.start', 'VM.stop']);
  });

  it.each([
    ['truncated', '<methodResponse><params><param><value><struct>'],
    ['mismatched', '<methodResponse><params><param><value><array></struct></value></param></params></methodResponse>'],
    ['unknown tag', '<methodResponse><params><param><value><blob>x</blob></value></param></params></methodResponse>'],
    ['bad int', '<methodResponse><params><param><value><int>12x</int></value></param></params></methodResponse>'],
    ['bad entity', '<methodResponse><params><param><value>&bogus;</value></param></params></methodResponse>'],
    ['value outside params', '<methodResponse><value>x</value></methodResponse>'],
    ['doctype', '<!DOCTYPE x [<!ENTITY a "b">]><methodResponse/>'],
    ['empty', ''],
  ])('rejects %s XML with E_XAPI_XML', (_name, xml) => {
    expect(() => decodeXmlRpc(xml)).toThrow(expect.objectContaining({ code: 'E_XAPI_XML' }));
  });

  it('keeps a bare & as text and rejects unknown references, even ones named like Object members', () => {
    const one = (text: string) => `<methodResponse><params><param><value>${text}</value></param></params></methodResponse>`;
    expect(decodeXmlRpc(one('a & b &amp;&#x41;&#66; c&')).params).toEqual(['a & b &AB c&']);
    for (const ent of ['&constructor;', '&toString;', '&nbsp;', '&#x110000;', '&;'])
      expect(() => decodeXmlRpc(one(ent))).toThrow(expect.objectContaining({ code: 'E_XAPI_XML' }));
  });

  it('survives random corruption: a value or E_XAPI_XML, never another error (seeded, 3000 cases)', () => {
    const random = rng(99);
    const base = Buffer.from(xmlrpcSerializer.serializeMethodResponse(randomTree(rng(5), 4)));
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(base);
      const edits = 1 + Math.floor(random() * 4);
      for (let e = 0; e < edits; e++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
      try {
        decodeInChunks(cut, random);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('E_XAPI_XML');
      }
    }
  });
});
