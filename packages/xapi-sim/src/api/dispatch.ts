// One call from the wire to a result: method lookup, parameter counts (defaulted parameters
// honoured), unmarshalling, session check, Async.* task wrapping — in the order XAPI's generated
// server applies them — then the behaviour handler or the generic accessor.
import { allMethodNames, findMessage, SCHEMA, type MessageDef } from '../schema.js';
import { XapiFailure } from '../wire/failure.js';
import { NULL_REF, type Value } from '../wire/values.js';
import { implicitCall } from './accessors.js';
import { coerce } from './coerce.js';
import type { CallContext, HandlerTable, Lab } from './context.js';
import { HANDLERS } from './handlers.js';
import { runAsTask } from './tasks.js';

export type CallResult = { ok: true; value: Value; bare?: boolean } | { ok: false; description: string[] };

const NO_ASYNC = new Set(['session', 'event']);

/** XAPI offers Async.* for explicit messages; accessors and session/event calls are synchronous only. */
export function asyncAllowed(m: MessageDef): boolean {
  return !m.implicit && !NO_ASYNC.has(m.cls);
}

let methodList: string[] | undefined;

export async function dispatch(lab: Lab, hostRef: string, method: string, params: Value[]): Promise<CallResult> {
  try {
    if (method === 'system.listMethods') {
      methodList ??= allMethodNames(asyncAllowed);
      return { ok: true, value: methodList, bare: true };
    }
    return { ok: true, value: await call(lab, hostRef, method, params, HANDLERS) };
  } catch (e) {
    if (e instanceof XapiFailure) return { ok: false, description: e.description };
    lab.logger.error({ method, err: (e as Error).message }, 'lab: internal error');
    return { ok: false, description: ['INTERNAL_ERROR', (e as Error).message] };
  }
}

async function call(lab: Lab, hostRef: string, method: string, raw: Value[], handlers: HandlerTable): Promise<Value> {
  const isAsync = method.startsWith('Async.');
  const m = findMessage(isAsync ? method.slice(6) : method);
  if (!m || (isAsync && !asyncAllowed(m))) {
    if (m && isAsync) throw new XapiFailure('Fault', [`No async mode for this operation (rpc: ${method})`]);
    throw new XapiFailure('MESSAGE_METHOD_UNKNOWN', [method]);
  }
  const given = raw.length - (m.hasSession ? 1 : 0);
  if (given < m.required || given > m.params.length) {
    throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', [method, String(m.required), String(Math.max(given, 0))]);
  }
  const session = m.hasSession ? coerce(raw[0] as Value, { k: 'ref', cls: 'session' }) : '';
  const own = m.hasSession ? raw.slice(1) : raw;
  const args = m.params.map((p, i) => (i < own.length ? coerce(own[i] as Value, p.type) : (p.default as Value)));
  if (m.hasSession && !lab.store.get('session', session as string)) {
    throw new XapiFailure('SESSION_INVALID', [session as string]);
  }
  m.params.forEach((p, i) => {
    const v = args[i];
    if (p.type.k === 'ref' && typeof v === 'string' && v !== NULL_REF && SCHEMA.has(p.type.cls)) {
      if (!lab.store.get(p.type.cls, v)) throw new XapiFailure('HANDLE_INVALID', [p.type.cls, v]);
    }
  });
  const ctx: CallContext = { lab, hostRef, session: session as string, method };
  const run = async (c: CallContext): Promise<Value> => {
    const h = handlers[`${m.cls}.${m.name}`];
    if (h) return h(c, ...args);
    const v = implicitCall(c, m, args);
    if (v === undefined) throw new XapiFailure('NOT_IMPLEMENTED', [`${m.cls}.${m.name}`]);
    return v;
  };
  if (!isAsync) return run(ctx);
  return runAsTask(ctx, method, m, run);
}
