// session.*: password login (2–4 arguments), HOST_IS_SLAVE on pool members, the 5 s penalty
// before SESSION_AUTHENTICATION_FAILED, logout.
import { setTimeout as sleep } from 'node:timers/promises';
import { fail } from '../wire/failure.js';
import { XDate } from '../wire/values.js';
import type { CallContext, HandlerTable, Lab } from './context.js';

export function masterIp(lab: Lab): string {
  return (lab.store.get('host', lab.masterRef)?.address as string | undefined) ?? '127.0.0.1';
}

/** Check a user name and password; used by the RPC login and by HTTP Basic auth. */
export function credentialsValid(lab: Lab, user: string, password: string): boolean {
  return user === lab.options.user && password === lab.options.password;
}

/**
 * xapi bounds sessions per originator (per user name when a client sends none) and destroys the
 * oldest when a login goes over, so a client that never logs out cannot exhaust the host.
 */
function enforceSessionLimit(lab: Lab, user: string, originator: string): void {
  const same = (s: { auth_user_name?: unknown; originator?: unknown }) =>
    originator !== '' ? s.originator === originator : s.originator === '' && s.auth_user_name === user;
  const mine = [...lab.store.table('session')].filter(([, s]) => same(s)).map(([ref]) => ref);
  // The table keeps insertion order, so the first entries are the oldest logins.
  for (const ref of mine.slice(0, Math.max(0, mine.length - lab.options.maxSessionsPerOriginator))) {
    lab.store.destroy('session', ref);
  }
}

export function openSession(lab: Lab, hostRef: string, user: string, originator: string): string {
  const now = XDate.fromDate(new Date());
  const ref = lab.store.create('session', {
    this_host: hostRef,
    last_active: now,
    validation_time: now,
    pool: false,
    is_local_superuser: true,
    auth_user_name: user,
    originator,
  });
  enforceSessionLimit(lab, user, originator);
  return ref;
}

async function login(ctx: CallContext, user: string, password: string, originator: string): Promise<string> {
  const { lab } = ctx;
  if (ctx.hostRef !== lab.masterRef) fail('HOST_IS_SLAVE', masterIp(lab));
  if (!credentialsValid(lab, user, password)) {
    await sleep(lab.options.authFailureDelayMs);
    fail('SESSION_AUTHENTICATION_FAILED', user, 'Authentication failure');
  }
  return openSession(lab, ctx.hostRef, user, originator);
}

function logout(ctx: CallContext): string {
  if (ctx.lab.store.get('session', ctx.session)) ctx.lab.store.destroy('session', ctx.session);
  return '';
}

export const sessionHandlers: HandlerTable = {
  'session.login_with_password': (ctx, user, password, _version, originator) =>
    login(ctx, user as string, password as string, originator as string),
  'session.slave_local_login_with_password': async (ctx, user, password) => {
    if (!credentialsValid(ctx.lab, user as string, password as string)) {
      await sleep(ctx.lab.options.authFailureDelayMs);
      fail('SESSION_AUTHENTICATION_FAILED', user as string, 'Authentication failure');
    }
    return openSession(ctx.lab, ctx.hostRef, user as string, '');
  },
  'session.logout': logout,
  'session.local_logout': logout,
  'session.change_password': (ctx, oldPassword, newPassword) => {
    if (oldPassword !== ctx.lab.options.password) fail('SESSION_AUTHENTICATION_FAILED', ctx.lab.options.user, 'Authentication failure');
    ctx.lab.options.password = newPassword as string;
    return '';
  },
  'session.get_all_subject_identifiers': () => [],
};
