import { describe, expect, it } from 'vitest';
import { buildStruct, shapeRoot, shapeStep, type ShapeNode } from './struct-shapes.js';

describe('learned struct shapes', () => {
  it('stops following a map-like struct after 32 distinct names at one place', () => {
    const base = shapeStep(shapeRoot(), 'other_config')!;
    const seen = Array.from({ length: 40 }, (_, i) => shapeStep(base, `key-${i}`));
    expect(seen.slice(0, 32).every((n) => n !== null)).toBe(true);
    expect(seen.slice(32).every((n) => n === null)).toBe(true);
  });

  it('forgets everything rather than grow past its node budget, and still builds correct objects', () => {
    const first = shapeRoot();
    // 800 record-like paths of 32 names under 25 × 32 distinct prefixes: 25,600 nodes wanted
    for (let chain = 0; chain < 800; chain++) {
      let node: ShapeNode | null = shapeStep(shapeRoot(), `a${chain % 25}`);
      node = node && shapeStep(node, `b${Math.floor(chain / 25)}`);
      for (let k = 0; k < 30 && node; k++) node = shapeStep(node, `c${chain}k${k}`);
      expect(node).not.toBeNull();
    }
    expect(shapeRoot()).not.toBe(first);
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    const vals = keys.map((_, i) => i);
    let node: ShapeNode | null = shapeRoot();
    for (const k of keys) node = node && shapeStep(node, k);
    const built = [1, 2, 3].map(() => buildStruct(keys, vals, keys.length, node));
    for (const o of built) expect(Object.entries(o)).toEqual(keys.map((k, i) => [k, i]));
    expect(node?.make).not.toBeNull();
  });
});
