import { type IncomingMessage } from 'node:http';
export type Obj = Record<string, unknown>;
export declare class Fail extends Error {
    readonly desc: string[];
    constructor(desc: string[]);
}
export interface MiniOptions {
    user?: string;
    password?: string;
    /** Answer /jsonrpc from the XML-RPC handler, like hosts older than JSON-RPC support. */
    noJsonRpc?: boolean;
    /** This host is a pool member: login answers HOST_IS_SLAVE naming this master address. */
    slaveOf?: string;
    /** Send /import_raw_vdi and /export_raw_vdi to this base URL with a 302. */
    redirectTransfersTo?: string;
    /** Close the socket after receiving this many bytes of an import body. */
    dropImportAfter?: number;
    port?: number;
    /** Loopback address to listen on (default 127.0.0.1; any 127/8 address works on Linux). */
    host?: string;
}
export declare class MiniDb {
    readonly tables: Map<string, Map<string, Obj>>;
    readonly events: Array<{
        id: number;
        class: string;
        operation: string;
        ref: string;
        snapshot?: Obj;
        timestamp: Date;
    }>;
    gen: number;
    /** Sparse VDI contents: VDI ref → (offset → bytes). */
    readonly disks: Map<string, Map<number, Buffer<ArrayBufferLike>>>;
    private waiters;
    table(cls: string): Map<string, Obj>;
    add(cls: string, rec: Obj): string;
    touch(cls: string, operation: string, ref: string): void;
    set(cls: string, ref: string, fields: Obj): void;
    get(cls: string, ref: string): Obj;
    changed(timeoutMs: number): Promise<void>;
}
export interface MiniXapi {
    url: string;
    port: number;
    db: MiniDb;
    opts: MiniOptions;
    sessions: Map<string, {
        originator: string;
    }>;
    calls: Array<{
        method: string;
        transport: 'xml' | 'json';
    }>;
    /** Import bodies as received, for assertions (headers and byte counts). */
    imports: Array<{
        query: URLSearchParams;
        headers: IncomingMessage['headers'];
        bytes: number;
    }>;
    /** Make every current session invalid (as after a toolstack restart). */
    invalidateSessions(): void;
    /** Stop answering, then listen again on the same port with no sessions (tokens also reset). */
    restart(downMs?: number): Promise<void>;
    close(): Promise<void>;
    /** Extra method handlers for a test: method name → (args without session) → value. */
    handlers: Map<string, (args: unknown[]) => unknown>;
}
export declare const xapiDate: (d: Date) => string;
export declare function xmlValue(v: unknown): string;
export declare function jsonText(v: unknown): string;
export declare function startMiniXapi(opts?: MiniOptions, db?: MiniDb): Promise<MiniXapi>;
/** A small pool: a host, an SR, two VMs (PV and HVM), a VDI. */
export declare function seedPool(db: MiniDb): Record<string, string>;
//# sourceMappingURL=mini-xapi.d.ts.map