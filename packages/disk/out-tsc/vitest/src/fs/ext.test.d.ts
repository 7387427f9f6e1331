export {};
//# sourceMappingURL=ext.test.d.ts.map