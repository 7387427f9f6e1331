import { XapiError, XapiProtocolError, isXapiError } from './errors.js';
import type { XapiSession } from './client.js';
import type { TaskRecord } from './generated/types.generated.js';
import { unwrapXmlRpc } from './rpc.js';
import { convertResult } from './wire/shape.js';
import { decodeXmlRpc } from './wire/xmlrpc-decode.js';

export interface TaskOptions {
  /** Called with the task's progress (0..1) whenever XAPI reports a change. */
  onProgress?: (progress: number) => void;
  /** Aborting cancels the task on the host (`task.cancel`) and rejects with E_XAPI_ABORTED. */
  signal?: AbortSignal;
}

const CANCEL_GRACE_MS = 60_000;

/**
 * Follow a task to its end through `event.from` on that one task (`task/<ref>`), not by polling:
 * XAPI batches task events and wakes the call as soon as the task changes. The first call (token '')
 * returns the task as it is now, so a task that finished before we looked is seen at once.
 */
export async function waitTask(session: XapiSession, ref: string, options: TaskOptions = {}): Promise<TaskRecord> {
  let token = '';
  let cancelled = false;
  let deadline = Number.POSITIVE_INFINITY;
  const inner = new AbortController();
  const onAbort = () => {
    cancelled = true;
    deadline = Date.now() + CANCEL_GRACE_MS;
    inner.abort();
    session.call('task.cancel', [ref]).catch(() => undefined);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  let lastProgress = -1;
  try {
    for (;;) {
      if (Date.now() > deadline) throw new XapiProtocolError('E_XAPI_ABORTED', `task ${ref} did not stop after task.cancel`);
      const wait = session.eventWait;
      let batch: { token: string; events: Array<{ ref: string; operation: string; snapshot?: unknown }> };
      try {
        batch = (await session.call('event.from', [[`task/${ref}`], token, wait + 0.01], {
          signal: cancelled ? undefined : inner.signal,
          timeout: (wait + 30) * 1000,
        })) as typeof batch;
      } catch (e) {
        if (cancelled && (e as { code?: string }).code === 'E_XAPI_ABORTED') continue;
        throw e;
      }
      token = batch.token;
      for (const ev of batch.events) {
        if (ev.ref !== ref) continue;
        if (ev.operation === 'del') throw new XapiProtocolError('E_XAPI_TASK', `task ${ref} was destroyed before it finished`);
        const task = ev.snapshot as TaskRecord | undefined;
        if (!task) continue;
        if (options.onProgress && typeof task.progress === 'number' && task.progress !== lastProgress) {
          lastProgress = task.progress;
          options.onProgress(task.progress);
        }
        if (task.status !== 'pending' && task.status !== 'cancelling') {
          if (cancelled) throw new XapiProtocolError('E_XAPI_ABORTED', `task ${ref} cancelled on request`, { status: task.status });
          return task;
        }
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The value a finished task carries, or its failure as XapiError. */
export function taskOutcome(task: TaskRecord, ref: string, method: string): unknown {
  if (task.status === 'success') return decodeTaskResult(String(task.result ?? ''), method);
  const info = Array.isArray(task.error_info) && task.error_info.length > 0 ? task.error_info : ['TASK_CANCELLED', ref];
  return Promise.reject(new XapiError(String(info[0]), info.slice(1), method, { task: ref }));
}

/**
 * `task.result` is an XML-RPC `<value>` serialised into a string (XAPI's TaskHelper stores
 * `Xmlrpc.to_string`); old hosts leave it empty for void methods or put a bare ref there.
 */
export function decodeTaskResult(result: string, method: string): unknown {
  const text = result.trim();
  if (text === '') return undefined;
  if (!text.startsWith('<')) return convertResult(method, text);
  const msg = decodeXmlRpc(`<methodResponse><params><param>${text}</param></params></methodResponse>`);
  return convertResult(method, unwrapXmlRpc(msg.kind, msg.params, method));
}

/** Run `Async.<method>`, follow its task, return its decoded result, and destroy the task. */
export async function callAsync(session: XapiSession, method: string, args: unknown[], options: TaskOptions = {}): Promise<unknown> {
  const ref = String(await session.call(`Async.${method}`, args, { signal: options.signal }));
  try {
    const task = await waitTask(session, ref, options);
    return await taskOutcome(task, ref, method);
  } finally {
    await session.call('task.destroy', [ref]).catch((e: unknown) => {
      if (!isXapiError(e, 'HANDLE_INVALID')) session.logger.debug({ task: ref }, 'task.destroy failed');
    });
  }
}
