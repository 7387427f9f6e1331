// event.from / event.inject: XAPI's token ("%020d,%020d"), class and class/ref subscriptions,
// add/mod/del with snapshots, valid_ref_counts (Int32), and a blocking wait up to the timeout.
import { setTimeout as sleep } from 'node:timers/promises';
import { className, SCHEMA } from '../schema.js';
import { fail } from '../wire/failure.js';
import { I32, type Struct, type Value } from '../wire/values.js';
import type { CallContext, HandlerTable, Lab } from './context.js';

export function formatToken(gen: number): string {
  const g = String(gen).padStart(20, '0');
  return `${g},${g}`;
}

/** -1 for "" (everything); throws EVENT_FROM_TOKEN_PARSE_FAILURE on anything else unreadable. */
export function parseToken(token: string): number {
  if (token === '') return -1;
  const m = /^(\d{1,20})(?:,(\d{1,20}))?$/.exec(token);
  if (!m) return fail('EVENT_FROM_TOKEN_PARSE_FAILURE', token);
  return Number(m[1]);
}

interface Subscription {
  all: boolean;
  classes: Set<string>;
  objects: Set<string>;
}

function parseSubscriptions(classes: string[]): Subscription {
  const sub: Subscription = { all: false, classes: new Set(), objects: new Set() };
  for (const c of classes) {
    if (c === '*') sub.all = true;
    else if (c.includes('/')) {
      const [cls, ref] = c.split('/', 2) as [string, string];
      const name = className(cls);
      if (!name || !ref) fail('EVENT_SUBSCRIPTION_PARSE_FAILURE', c);
      sub.objects.add(`${name as string}/${ref}`);
    } else {
      const name = className(c);
      if (name) sub.classes.add(name);
    }
  }
  return sub;
}

const wants = (s: Subscription, cls: string, ref: string) =>
  s.all || s.classes.has(cls) || s.objects.has(`${cls}/${ref}`);

function eventRecord(id: number, cls: string, op: string, ref: string, snapshot?: Struct): Struct {
  const ev: Struct = {
    id: String(id),
    timestamp: (Date.now() / 1000).toFixed(6),
    class: cls.toLowerCase(),
    operation: op,
    ref,
  };
  if (snapshot) ev.snapshot = snapshot;
  return ev;
}

function collect(lab: Lab, sub: Subscription, since: number): Struct[] {
  const { store } = lab;
  const changes = since < 0 ? null : store.changesSince(since);
  const events: Struct[] = [];
  if (changes === null) {
    for (const [cls, table] of store.tables) {
      for (const [ref, rec] of table) if (wants(sub, cls, ref)) events.push(eventRecord(store.generation, cls, 'add', ref, rec));
    }
    return events;
  }
  // One event per object, in the order of its latest change, as xapi coalesces them.
  const latest = new Map<string, { gen: number; cls: string; op: string; born: boolean }>();
  for (const c of changes) {
    if (!wants(sub, c.cls, c.ref)) continue;
    const prev = latest.get(c.ref);
    latest.delete(c.ref);
    latest.set(c.ref, { gen: c.gen, cls: c.cls, op: c.op, born: (prev?.born ?? false) || c.op === 'add' });
  }
  for (const [ref, c] of [...latest].sort((a, b) => a[1].gen - b[1].gen)) {
    if (c.op === 'del') {
      if (!c.born) events.push(eventRecord(c.gen, c.cls, 'del', ref));
      continue;
    }
    const rec = store.get(c.cls, ref);
    if (rec) events.push(eventRecord(c.gen, c.cls, c.born ? 'add' : 'mod', ref, rec));
  }
  return events;
}

function refCounts(lab: Lab, sub: Subscription): Struct {
  const out: Struct = {};
  const objectClasses = new Set([...sub.objects].map((o) => o.slice(0, o.indexOf('/'))));
  for (const [cls, table] of lab.store.tables) {
    if (sub.all || sub.classes.has(cls) || objectClasses.has(cls)) out[cls.toLowerCase()] = new I32(table.size);
  }
  return out;
}

function waitForChange(lab: Lab, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    timer.unref();
    const off = lab.store.subscribe(done);
    function done() {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

async function eventFrom(ctx: CallContext, classes: Value, token: Value, timeout: Value): Promise<Value> {
  const { lab } = ctx;
  const sub = parseSubscriptions(classes as string[]);
  const since = parseToken(token as string);
  const deadline = Date.now() + Math.max(0, (timeout as number) * 1000);
  for (;;) {
    // A session logged out while its event.from waits gets SESSION_INVALID, which clients use to re-login.
    if (!lab.store.get('session', ctx.session)) fail('SESSION_INVALID', ctx.session);
    const now = lab.store.generation;
    const events = collect(lab, sub, since);
    if (events.length > 0 || Date.now() >= deadline) {
      return { events, valid_ref_counts: refCounts(lab, sub), token: formatToken(now) };
    }
    await waitForChange(lab, deadline - Date.now());
    if (Date.now() < deadline && lab.options.eventBatchDelayMs > 0) await sleep(lab.options.eventBatchDelayMs);
  }
}

export const eventHandlers: HandlerTable = {
  'event.from': eventFrom,
  'event.inject': (ctx, cls, ref) => {
    const name = className(cls as string);
    if (!name || !SCHEMA.has(name) || !ctx.lab.store.get(name, ref as string)) fail('HANDLE_INVALID', cls as string, ref as string);
    ctx.lab.store.touch(name as string, ref as string);
    return formatToken(ctx.lab.store.generation);
  },
  'event.get_current_id': (ctx) => BigInt(ctx.lab.store.generation),
};
