/**
 * Building the objects of XML-RPC structs. Assigning members one by one to `{}` with computed keys
 * turns any object past 16 properties into a dictionary (V8 stops adding fast properties for keyed
 * stores), so a 95-field VM record cost a growing hash table and several copies of it, most of the
 * garbage collector's work in a large `get_all_records`. XAPI sends every record of a class with the
 * same members in the same order; the decoder follows each struct's member names down a trie, and once
 * a key sequence has been seen twice it is built from a generated object literal: one allocation, fast
 * properties, the shape shared by every record of that class.
 */

export type MakeStruct = (vals: unknown[]) => Record<string, unknown>;

export class ShapeNode {
  next: Map<string, ShapeNode> | null = null;
  make: MakeStruct | null = null;
  seen = 0;
}

/** Structs smaller than this are fast objects when built by assignment already. */
const MIN_KEYS = 12;
const MAX_KEYS = 1000;
/** Maps (other_config, the ref-keyed result of get_all_records) fan out; records form one path. */
const MAX_FANOUT = 32;
const MAX_NODES = 16384;
const MAX_KEY_LENGTH = 64;

let root = new ShapeNode();
let nodes = 0;

export function shapeRoot(): ShapeNode {
  return root;
}

/** The trie node after `name`, or null once this struct does not look like a record. */
export function shapeStep(node: ShapeNode, name: string): ShapeNode | null {
  let next = node.next?.get(name);
  if (next !== undefined) return next;
  if (name.length > MAX_KEY_LENGTH) return null;
  if (node.next === null) node.next = new Map();
  else if (node.next.size >= MAX_FANOUT) return null;
  if (nodes >= MAX_NODES) {
    // Bounded memory whatever arrives: forget every shape and learn again.
    root = new ShapeNode();
    nodes = 0;
  }
  next = new ShapeNode();
  node.next.set(name, next);
  nodes++;
  return next;
}

/** The struct of `keys[i]: vals[i]` (the arrays are reused by the caller and not kept). */
export function buildStruct(keys: string[], vals: unknown[], count: number, node: ShapeNode | null): Record<string, unknown> {
  if (node !== null && node.make !== null) return node.make(vals);
  const o: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) o[keys[i]!] = vals[i];
  if (node !== null && count > MIN_KEYS && count <= MAX_KEYS && ++node.seen === 2) node.make = compile(keys.slice(0, count));
  return o;
}

function compile(keys: string[]): MakeStruct | null {
  // A literal's `__proto__:` would set the prototype, and a repeated key would change member order.
  if (keys.includes('__proto__') || new Set(keys).size !== keys.length) return null;
  // JSON.stringify makes each key a valid, fully escaped string literal: nothing from the wire runs.
  const body = `return {${keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(',')}};`;
  try {
    return new Function('v', body) as MakeStruct;
  } catch {
    return null; // code generation disallowed (--disallow-code-generation-from-strings): assign instead
  }
}
