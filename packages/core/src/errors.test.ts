import { describe, expect, it } from 'vitest';
import {
  InputError,
  OperationError,
  UsageError,
  XenkitError,
  exitStatusFor,
  isXenkitError,
  toXenkitError,
} from './errors.js';
import { redactSecrets, redactText } from './logger.js';

describe('error classes', () => {
  const scenarios = [
    { Class: InputError, category: 'input', exit: 2 },
    { Class: UsageError, category: 'usage', exit: 2 },
    { Class: OperationError, category: 'operation', exit: 1 },
  ] as const;
  for (const { Class, category, exit } of scenarios) {
    it(`${Class.name} carries code, category, details and exits ${exit}`, () => {
      const err = new Class('E_TEST', 'something is wrong', { details: { path: '/x' } });
      expect(err).toBeInstanceOf(XenkitError);
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe('E_TEST');
      expect(err.category).toBe(category);
      expect(err.name).toBe(Class.name);
      expect(exitStatusFor(err)).toBe(exit);
      expect(JSON.parse(JSON.stringify(err))).toEqual({
        code: 'E_TEST',
        message: 'something is wrong',
        category,
        details: { path: '/x' },
      });
    });
  }

  it('recognises errors from another copy of the package by brand', () => {
    const foreign = Object.create({ [Symbol.for('xenkit.error')]: true });
    expect(isXenkitError(foreign)).toBe(true);
    expect(isXenkitError(new Error('plain'))).toBe(false);
    expect(isXenkitError(null)).toBe(false);
  });

  it('instanceof a subclass holds only for that subclass, including its copy in another package instance', () => {
    class FsLikeError extends InputError {}
    class KernelLikeError extends InputError {}
    const fsError = new FsLikeError('E_A', 'a');
    expect(fsError instanceof FsLikeError).toBe(true);
    expect(fsError instanceof InputError).toBe(true);
    expect(fsError instanceof XenkitError).toBe(true);
    expect(fsError instanceof KernelLikeError).toBe(false);
    expect(fsError instanceof OperationError).toBe(false);
    expect(new Error('plain') instanceof InputError).toBe(false);
    // The same class from a second copy of the package: another class object with the same name.
    const make = () => class CopiedError extends InputError {};
    const [one, two] = [make(), make()];
    expect(one).not.toBe(two);
    expect(new one('E_B', 'b') instanceof two).toBe(true);
    expect(fsError instanceof two).toBe(false);
  });

  it('maps plain errors to exit 1', () => {
    expect(exitStatusFor(new Error('boom'))).toBe(1);
    expect(exitStatusFor('string')).toBe(1);
  });
});

describe('toXenkitError', () => {
  it('turns ENOENT into a coded input error naming the path', () => {
    const sys = Object.assign(new Error("ENOENT: no such file or directory, open '/nope'"), {
      code: 'ENOENT',
      syscall: 'open',
      path: '/nope',
    });
    const err = toXenkitError(sys);
    expect(err.code).toBe('E_NOT_FOUND');
    expect(err.category).toBe('input');
    expect(err.message).toContain('/nope');
    expect(err.cause).toBe(sys);
  });

  it('keeps XenkitErrors as they are and marks unknown errors internal', () => {
    const own = new InputError('E_X', 'x');
    expect(toXenkitError(own)).toBe(own);
    const internal = toXenkitError(new TypeError('undefined is not a function'));
    expect(internal.code).toBe('E_INTERNAL');
    expect(internal.category).toBe('internal');
  });
});

describe('redaction', () => {
  it('removes secrets from objects and query strings', () => {
    const out = redactSecrets({
      url: 'https://h/import_raw_vdi?session_id=OpaqueRef:abc&vdi=x',
      params: { password: 'hunter2', user: 'root' },
      list: [{ session_id: 'OpaqueRef:1' }],
    });
    expect(JSON.stringify(out)).not.toMatch(/hunter2|OpaqueRef:abc|OpaqueRef:1/);
    expect(out).toMatchObject({ params: { user: 'root' } });
    expect(redactText('a?password=p&b=1')).toBe('a?password=[redacted]&b=1');
  });
});
