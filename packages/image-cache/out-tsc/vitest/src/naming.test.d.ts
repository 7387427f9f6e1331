export {};
//# sourceMappingURL=naming.test.d.ts.map