export {};
//# sourceMappingURL=network.test.d.ts.map