import type { Logger } from '@xenkit/core';
import type { Store } from './store.js';
import type { Value } from '../wire/values.js';

export interface LabOptions {
  user: string;
  password: string;
  /** XAPI sleeps 5 s before SESSION_AUTHENTICATION_FAILED to slow brute force. */
  authFailureDelayMs: number;
  /** How long an Async task stays pending before it runs (0 = next tick); lets clients cancel. */
  taskDelayMs: number;
  /** event.from waits this long after a wake-up to batch changes (xapi: 50 ms). */
  eventBatchDelayMs: number;
  /** xapi keeps at most 500 sessions per originator (or per user without one), destroying the oldest. */
  maxSessionsPerOriginator: number;
  /** xapi's GC destroys finished tasks this long after they finish (65 min). */
  finishedTaskTtlMs: number;
}

/** Shared state of the whole pool; every host's HTTP server answers from it. */
export interface Lab {
  store: Store;
  options: LabOptions;
  logger: Logger;
  /** Directory holding one sparse `<vdi-uuid>.raw` file per VDI. */
  vdiDir: string;
  masterRef: string;
  poolRef: string;
  /** host ref → "address:port" it answers on. */
  hostAddress: Map<string, string>;
  /** host ref → the PEM certificate its listener serves (empty without TLS). */
  hostCertificate: Map<string, string>;
}

/** What a handler sees about the call it is serving. */
export interface CallContext {
  lab: Lab;
  /** The host whose endpoint received the call. */
  hostRef: string;
  session: string;
  method: string;
  /** The task an Async call runs under, for progress. */
  task?: string;
}

export type Handler = (ctx: CallContext, ...args: Value[]) => Value | Promise<Value>;
export type HandlerTable = Record<string, Handler>;
