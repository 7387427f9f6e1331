// Seeded fuzz harnesses shared by the test suite (a short run) and fuzz/*.fuzz.ts (a long one).
import { dispatch } from '../api/dispatch.js';
import type { Lab } from '../api/context.js';
import { findMessage, SCHEMA, type XType } from '../schema.js';
import { MalformedRequest } from '../wire/failure.js';
import { parseJsonCall } from '../wire/json.js';
import { parseMethodCall } from '../wire/xml.js';
import type { Value } from '../wire/values.js';
import { rng as seededRng } from '@xenkit/fixtures';

/** The shared seeded generator (@xenkit/fixtures), as a bare () => [0,1) function. */
export function rng(seed: number): () => number {
  const r = seededRng(seed);
  return () => r.next();
}

const XML_SEED =
  '<?xml version="1.0"?><methodCall><methodName>VM.get_record</methodName><params><param><value><string>OpaqueRef:a&amp;b</string></value></param>' +
  '<param><value><struct><member><name>k</name><value><array><data><value><i4>7</i4></value><value><double>1.5</double></value><value><boolean>1</boolean></value>' +
  '<value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value><value><base64>aGk=</base64></value><value><nil/></value></data></array></value></member></struct></value></param></params></methodCall>';
const JSON_SEED = '{"jsonrpc":"2.0","id":1,"method":"VM.get_all","params":["OpaqueRef:x",{"a":[1,2.5,true,null,"s"]}]}';
const TOKENS = ['<', '>', '</', '/>', '&', '&#x10ffff;', '&#99999999;', '<value>', '</value>', '<struct>', '<array>', '<data>', '"', '{', '}', '[', ']', ',', ':', '\u0000', '\uffff'];

function mutate(seed: string, next: () => number): string {
  let s = seed;
  const edits = 1 + Math.floor(next() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(next() * (s.length + 1));
    const r = next();
    if (r < 0.3) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(next() * 20));
    else if (r < 0.6) s = s.slice(0, at) + (TOKENS[Math.floor(next() * TOKENS.length)] as string) + s.slice(at);
    else if (r < 0.8) s = s.slice(0, at) + s.slice(Math.floor(next() * s.length), Math.floor(next() * s.length)) + s.slice(at);
    else s = s.slice(0, at);
  }
  return s;
}

export interface ParserFuzzCounts {
  parsed: number;
  refused: number;
}

/** Mutated bodies must parse or be refused as MalformedRequest (→ HTTP 500), never crash. */
export function fuzzParsers(iterations: number, seed: number): ParserFuzzCounts {
  const next = rng(seed);
  const counts = { parsed: 0, refused: 0 };
  for (let i = 0; i < iterations; i++) {
    for (const [base, parse] of [[XML_SEED, parseMethodCall], [JSON_SEED, parseJsonCall]] as const) {
      const input = mutate(base, next);
      try {
        parse(input);
        counts.parsed++;
      } catch (e) {
        if (!(e instanceof MalformedRequest)) throw new Error(`${(e as Error).message} on input ${JSON.stringify(input)}`);
        counts.refused++;
      }
    }
  }
  return counts;
}

const methods = [...SCHEMA.values()].flatMap((c) => [...c.messages.values()].map((m) => `${c.name}.${m.name}`));

function randomValue(next: () => number, refs: string[], depth = 0): Value {
  const r = next();
  if (r < 0.3) return refs[Math.floor(next() * refs.length)] ?? 'OpaqueRef:NULL';
  if (r < 0.45) return BigInt(Math.floor(next() * 2 ** 40) - 2 ** 20);
  if (r < 0.55) return next() * 100;
  if (r < 0.65) return next() < 0.5;
  if (r < 0.75 && depth < 3) return Array.from({ length: Math.floor(next() * 3) }, () => randomValue(next, refs, depth + 1));
  if (r < 0.85 && depth < 3) return { name_label: 'fuzz', SR: refs[0] ?? '', virtual_size: 1024n, VM: refs[1] ?? '' };
  return ['', 'Halted', 'vm', '*', 'garbage'][Math.floor(next() * 5)] as string;
}

function typedValue(next: () => number, lab: Lab, t: XType): Value {
  switch (t.k) {
    case 'ref': {
      const refs = [...(lab.store.tables.get(t.cls)?.keys() ?? [])];
      return refs[Math.floor(next() * refs.length)] ?? 'OpaqueRef:NULL';
    }
    case 'int':
      return BigInt(Math.floor(next() * 4 * 1024 * 1024));
    case 'float':
      return next() * 10;
    case 'bool':
      return next() < 0.5;
    case 'set':
      return next() < 0.5 ? [] : [typedValue(next, lab, t.of)];
    case 'map':
      return next() < 0.5 ? {} : { key: typedValue(next, lab, t.val) };
    case 'record': {
      const out: Record<string, Value> = {};
      for (const f of SCHEMA.get(t.cls)?.fields.values() ?? []) if (next() < 0.5) out[f.name] = typedValue(next, lab, f.type);
      return out;
    }
    case 'enum':
      return next() < 0.8 ? 'Halted' : 'hvm';
    default:
      return ['', 'fuzz', 'vm', '*'][Math.floor(next() * 4)] as string;
  }
}

/** Random well-formed calls against a live lab: XAPI errors are fine, INTERNAL_ERROR means a handler bug. */
export interface DispatchFuzzCounts {
  /** Methods the fuzz never calls (logout, destroy …) because they would end the run early. */
  skipped: number;
  succeeded: number;
  failed: number;
}

export async function fuzzDispatch(lab: Lab, session: string, iterations: number, seed: number): Promise<DispatchFuzzCounts> {
  const counts = { skipped: 0, succeeded: 0, failed: 0 };
  const next = rng(seed);
  const refs = [...lab.store.tables.values()].flatMap((t) => [...t.keys()]).slice(0, 200);
  const skip = /^(session\.(logout|local_logout|change_password|login_with_password|slave_local_login_with_password)|event\.from|.*\.destroy.*|pool\.eject|host\.(shutdown|reboot))$/;
  for (let i = 0; i < iterations; i++) {
    const method = methods[Math.floor(next() * methods.length)] as string;
    if (skip.test(method)) {
      counts.skipped++;
      continue;
    }
    // Mostly the right number of well-typed arguments, so calls get past the checks into handlers.
    const m = findMessage(method);
    const typed = m !== undefined && next() < 0.8;
    const args = typed
      ? (m?.params ?? []).map((p) => (next() < 0.9 ? typedValue(next, lab, p.type) : randomValue(next, refs)))
      : Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, refs));
    const params = m?.hasSession === false ? args : [session, ...args];
    const r = await dispatch(lab, lab.masterRef, method, params);
    if (!r.ok && r.description[0] === 'INTERNAL_ERROR') {
      throw new Error(`${method}(${params.slice(1).map(String).join(', ')}) → ${r.description.join(' ')}`);
    }
    if (r.ok) counts.succeeded++;
    else counts.failed++;
  }
  return counts;
}

/** A seeded in-process lab (no HTTP) for the dispatch fuzz, with a logged-in session. */
export async function fuzzTarget(): Promise<{ lab: Lab; session: string; cleanup: () => void }> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { silentLogger } = await import('@xenkit/core');
  const { Store } = await import('../api/store.js');
  const { seedLab } = await import('../seed.js');
  const { openSession } = await import('../api/session.js');
  const vdiDir = mkdtempSync(join(tmpdir(), 'xenkit-fuzz-'));
  const lab: Lab = {
    store: new Store(),
    logger: silentLogger,
    vdiDir,
    masterRef: '',
    poolRef: '',
    hostAddress: new Map(),
    hostCertificate: new Map(),
    options: { user: 'root', password: 'x', authFailureDelayMs: 0, taskDelayMs: 0, eventBatchDelayMs: 0, maxSessionsPerOriginator: 500, finishedTaskTtlMs: 3_900_000 },
  };
  seedLab(lab, { hosts: [{ address: '127.0.0.1', hostname: 'fuzz' }], vms: 2 });
  return { lab, session: openSession(lab, lab.masterRef, 'root', ''), cleanup: () => rmSync(vdiDir, { recursive: true, force: true }) };
}
