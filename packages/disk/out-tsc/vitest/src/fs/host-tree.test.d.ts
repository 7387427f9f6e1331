export {};
//# sourceMappingURL=host-tree.test.d.ts.map