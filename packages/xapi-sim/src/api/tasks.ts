// Tasks: Async.* calls and the HTTP handlers run under one. pending → success | failure |
// cancelling → cancelled; `result` is an XML-RPC value string, `error_info` is [CODE, params…].
import type { MessageDef } from '../schema.js';
import { fail, XapiFailure } from '../wire/failure.js';
import { valueToXml } from '../wire/xml.js';
import { XDate, type Value } from '../wire/values.js';
import type { CallContext, HandlerTable, Lab } from './context.js';

const cancellers = new WeakMap<Lab, Map<string, () => void>>();
const runners = (lab: Lab) => {
  let m = cancellers.get(lab);
  if (!m) cancellers.set(lab, (m = new Map()));
  return m;
};

const finishedAt = new WeakMap<Lab, Map<string, number>>();
const finishTimes = (lab: Lab) => {
  let m = finishedAt.get(lab);
  if (!m) finishedAt.set(lab, (m = new Map()));
  return m;
};

/** Like xapi's DB GC: finished tasks nobody destroyed go away `finishedTaskTtlMs` after finishing. */
export function collectFinishedTasks(lab: Lab, now = Date.now()): void {
  const times = finishTimes(lab);
  for (const [ref, rec] of lab.store.table('task')) {
    if (rec.status === 'pending' || rec.status === 'cancelling') continue;
    const at = times.get(ref);
    // A finished task loaded from --state has no time here; its clock starts now.
    if (at === undefined) times.set(ref, now);
    else if (now - at >= lab.options.finishedTaskTtlMs) {
      times.delete(ref);
      lab.store.destroy('task', ref);
    }
  }
  for (const ref of times.keys()) if (!lab.store.get('task', ref)) times.delete(ref);
}

export function createTask(lab: Lab, label: string, description: string, hostRef: string): string {
  collectFinishedTasks(lab);
  return lab.store.create('task', {
    name_label: label,
    name_description: description,
    created: XDate.fromDate(new Date()),
    status: 'pending',
    progress: 0,
    resident_on: hostRef,
    allowed_operations: ['cancel'],
  });
}

export function setProgress(lab: Lab, task: string | undefined, progress: number): void {
  if (task && lab.store.get('task', task)?.status === 'pending') lab.store.update('task', task, { progress });
}

/** Finish a task once: a task already finished (or destroyed) is left alone. */
export function completeTask(lab: Lab, task: string, outcome: { value: Value; void: boolean } | XapiFailure): void {
  const rec = lab.store.get('task', task);
  if (!rec || (rec.status !== 'pending' && rec.status !== 'cancelling')) return;
  runners(lab).delete(task);
  finishTimes(lab).set(task, Date.now());
  const finished = XDate.fromDate(new Date());
  if (rec.status === 'cancelling') {
    lab.store.update('task', task, {
      status: 'cancelled',
      finished,
      allowed_operations: [],
      error_info: ['TASK_CANCELLED', task],
    });
  } else if (outcome instanceof XapiFailure) {
    lab.store.update('task', task, { status: 'failure', finished, allowed_operations: [], error_info: outcome.description });
  } else {
    const result = outcome.void ? '' : valueToXml(outcome.value);
    lab.store.update('task', task, { finished, progress: 1, result, allowed_operations: [], status: 'success' });
  }
}

export function toFailure(e: unknown): XapiFailure {
  return e instanceof XapiFailure ? e : new XapiFailure('INTERNAL_ERROR', [(e as Error).message]);
}

export function runAsTask(
  ctx: CallContext,
  method: string,
  m: MessageDef,
  run: (c: CallContext) => Promise<Value>,
): string {
  const { lab } = ctx;
  const task = createTask(lab, method, '', ctx.hostRef);
  let timer: NodeJS.Timeout | undefined;
  const start = async () => {
    timer = undefined;
    if (lab.store.get('task', task)?.status !== 'pending') return completeTask(lab, task, { value: '', void: true });
    try {
      const value = await run({ ...ctx, task });
      completeTask(lab, task, { value, void: m.result.k === 'void' });
    } catch (e) {
      completeTask(lab, task, toFailure(e));
    }
  };
  timer = setTimeout(start, lab.options.taskDelayMs);
  runners(lab).set(task, () => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
      completeTask(lab, task, { value: '', void: true });
    }
  });
  return task;
}

/** Stop every pending timer (lab shutdown). */
export function cancelAllTimers(lab: Lab): void {
  for (const cancel of runners(lab).values()) cancel();
}

export const taskHandlers: HandlerTable = {
  'task.create': (ctx, label, description) => createTask(ctx.lab, label as string, description as string, ctx.hostRef),
  'task.cancel': (ctx, task) => {
    const { store } = ctx.lab;
    const rec = store.require('task', task as string);
    if (rec.status !== 'pending') fail('OPERATION_NOT_ALLOWED', `task ${task as string} is ${rec.status as string}`);
    store.update('task', task as string, { status: 'cancelling', allowed_operations: [] });
    const cancel = runners(ctx.lab).get(task as string);
    // A task made by task.create has no worker of its own: nothing else would finish the cancel.
    if (cancel) cancel();
    else completeTask(ctx.lab, task as string, { value: '', void: true });
    return '';
  },
  'task.destroy': (ctx, task) => {
    runners(ctx.lab).delete(task as string);
    ctx.lab.store.destroy('task', task as string);
    return '';
  },
  'task.set_status': (ctx, task, status) => {
    ctx.lab.store.update('task', task as string, { status: status as string });
    return '';
  },
  'task.set_progress': (ctx, task, progress) => {
    ctx.lab.store.update('task', task as string, { progress: progress as number });
    return '';
  },
  'task.set_result': (ctx, task, value) => {
    ctx.lab.store.update('task', task as string, { result: value as string });
    return '';
  },
  'task.set_error_info': (ctx, task, info) => {
    ctx.lab.store.update('task', task as string, { error_info: info as string[] });
    return '';
  },
};
