export {};
//# sourceMappingURL=checks.test.d.ts.map