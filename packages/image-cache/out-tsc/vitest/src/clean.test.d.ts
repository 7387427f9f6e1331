export {};
//# sourceMappingURL=clean.test.d.ts.map