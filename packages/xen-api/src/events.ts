import { isXenkitError } from '@xenkit/core';
import { isTransportFailure, isXapiError } from './errors.js';
import { sleep, type XapiSession } from './client.js';
import type { EventBatch, EventRecord } from './generated/types.generated.js';

export interface EventOptions {
  /** Classes to watch (`vm`, `task`, `vm/OpaqueRef:…`); default every class (`*`). */
  classes?: string[];
  /**
   * Where to start: a token from an earlier stream, `''` (default) for "every current object as an
   * `add` event, then changes", or `'now'` for changes only.
   */
  token?: string;
  signal?: AbortSignal;
  /**
   * Called when the stream restarts from '': the token was refused (EVENTS_LOST, token parse failure),
   * or the host answered with an older token than the one sent (TOKEN_WENT_BACK).
   */
  onResync?: (reason: string) => void;
}

const TOKEN_ERRORS = new Set(['EVENTS_LOST', 'EVENT_FROM_TOKEN_PARSE_FAILURE', 'SESSION_NOT_REGISTERED']);

/**
 * An async iterator over `event.from`. It keeps its token across reconnects: when the host goes away
 * the client's retries, re-login and failover bring the session back, and the stream continues from
 * the last token it saw; if the host no longer accepts that token it starts again from '' (every
 * object as an `add`), after telling `onResync`. It ends when `signal` aborts.
 */
export class EventStream implements AsyncIterable<EventRecord> {
  private current: string;

  constructor(
    private readonly session: XapiSession,
    private readonly options: EventOptions = {},
  ) {
    this.current = options.token ?? '';
  }

  /** The token to resume from: pass it as `token` to a later stream. */
  get token(): string {
    return this.current;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<EventRecord> {
    const { signal } = this.options;
    const classes = this.options.classes && this.options.classes.length > 0 ? this.options.classes : ['*'];
    let failures = 0;
    if (this.current === 'now') this.current = await this.currentToken(classes);
    while (!signal?.aborted) {
      const wait = this.session.eventWait;
      let batch: EventBatch;
      try {
        batch = (await this.session.call('event.from', [classes, this.current, wait + 0.01], {
          signal,
          timeout: (wait + 30) * 1000,
        })) as EventBatch;
        failures = 0;
      } catch (e) {
        if (signal?.aborted || (isXenkitError(e) && e.code === 'E_XAPI_ABORTED')) return;
        if (isXapiError(e) && TOKEN_ERRORS.has(e.code)) {
          this.session.logger.info({ code: e.code }, 'event token refused; fetching every object again');
          this.options.onResync?.(e.code);
          this.current = '';
          continue;
        }
        if (!isTransportFailure(e) && !isXapiError(e, 'SESSION_INVALID')) throw e;
        failures++;
        this.session.logger.warn({ failures, err: (e as Error).message }, 'event.from failed; reconnecting');
        try {
          await sleep(Math.min(200 * 2 ** failures, 5_000), signal);
        } catch {
          return;
        }
        if (isXapiError(e, 'SESSION_INVALID')) await this.session.relogin().catch(() => undefined);
        else await this.session.failover().catch(() => false);
        continue;
      }
      // Tokens are zero-padded and only grow on one history. A smaller one means the host's history
      // restarted (a host brought back without its event counter, a restored database): changes
      // between the two are unknown, so start again from every object.
      if (this.current !== '' && typeof batch.token === 'string' && batch.token < this.current) {
        this.session.logger.info({}, 'event token went back; fetching every object again');
        this.options.onResync?.('TOKEN_WENT_BACK');
        this.current = '';
        continue;
      }
      this.current = batch.token;
      for (const event of batch.events) yield event;
    }
  }

  // A token for "now" without replaying every object: one event.from with a zero timeout returns the
  // current token (and the objects, which are dropped).
  private async currentToken(classes: string[]): Promise<string> {
    const batch = (await this.session.call('event.from', [classes, '', 0.01], { signal: this.options.signal })) as EventBatch;
    return batch.token;
  }
}
