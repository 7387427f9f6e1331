export {};
//# sourceMappingURL=check.test.d.ts.map