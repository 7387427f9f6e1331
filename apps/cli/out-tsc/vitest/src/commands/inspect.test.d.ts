export {};
//# sourceMappingURL=inspect.test.d.ts.map