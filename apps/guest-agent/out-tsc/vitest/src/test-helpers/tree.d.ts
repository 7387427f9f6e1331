/**
 * A minimal guest root tree: root and bob (uid 1000) with homes, passwd/shadow/group. The tree is
 * world-traversable so writer children running as bob can reach it, as on a real guest.
 */
export declare function makeGuestTree(): {
    root: string;
    cleanup: () => void;
};
/** A fresh OpenSSH public key line made by ssh-keygen. */
export declare function genKey(comment: string, type?: string): string;
//# sourceMappingURL=tree.d.ts.map