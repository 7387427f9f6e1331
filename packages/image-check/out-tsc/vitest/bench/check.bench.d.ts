export {};
//# sourceMappingURL=check.bench.d.ts.map