export {};
//# sourceMappingURL=preallocate.test.d.ts.map