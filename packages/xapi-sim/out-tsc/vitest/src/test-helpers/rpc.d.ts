/** Minimal raw-wire helpers for tests that must see exact bytes, not a client's interpretation. */
export declare function postRaw(url: string, path: string, body: string, contentType?: string): Promise<{
    status: number;
    type: string | null;
    text: string;
}>;
export declare function xmlCall(method: string, params: string[]): string;
export declare function jsonCall(url: string, method: string, params: unknown[], v2?: boolean): Promise<{
    result?: unknown;
    error?: unknown;
}>;
export declare function login(url: string, user?: string, password?: string): Promise<string>;
//# sourceMappingURL=rpc.d.ts.map