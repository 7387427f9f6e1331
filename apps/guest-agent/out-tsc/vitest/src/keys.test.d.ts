export {};
//# sourceMappingURL=keys.test.d.ts.map