export {};
//# sourceMappingURL=crypto.test.d.ts.map