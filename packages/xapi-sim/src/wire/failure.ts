/** A XAPI API error: travels as ErrorDescription `[code, ...params]` (or JSON-RPC v2 `{code: 1, message, data}`). */
export class XapiFailure extends Error {
  readonly params: string[];
  constructor(
    readonly code: string,
    params: readonly string[] = [],
  ) {
    super(`${code}(${params.join(', ')})`);
    this.name = 'XapiFailure';
    this.params = [...params];
  }
  get description(): string[] {
    return [this.code, ...this.params];
  }
}

export const fail = (code: string, ...params: string[]): never => {
  throw new XapiFailure(code, params);
};

/** A request the server cannot even parse: XAPI answers HTTP 500 with an HTML body. */
export class MalformedRequest extends Error {}
