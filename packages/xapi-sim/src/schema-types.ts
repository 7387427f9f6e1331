/**
 * Shape of the generated table (src/generated/schema.ts), kept loose so the compiler does not
 * type-check 160 kB of literals; src/schema.ts reads it into typed structures once.
 *   class:   [name, fields, messages, enums]
 *   field:   [name, type index, qualifier (0 RO/runtime, 1 RO/constructor, 2 RW), default literal?]
 *   message: [name, params, result type index, error codes, implicit (1) or explicit (0)]
 *   param:   [name, type index, default literal?]
 *   enum:    [name, values]
 */
export type RawClass = readonly unknown[];
