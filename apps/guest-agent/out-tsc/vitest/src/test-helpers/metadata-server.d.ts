export interface FakeMetadata {
    url: string;
    hits: string[];
    close(): Promise<void>;
}
export type Route = string | {
    status: number;
    headers?: Record<string, string>;
    body?: string;
} | 'stream-forever';
/**
 * A metadata service speaking nova's paths on loopback (or on any address a test network namespace
 * provides). Routes not listed answer 404, as nova's handler does.
 */
export declare function startMetadataServer(routes: Record<string, Route>, host?: string, port?: number): Promise<FakeMetadata>;
export declare function ec2Routes(key: string, extra?: Record<string, Route>): Record<string, Route>;
//# sourceMappingURL=metadata-server.d.ts.map