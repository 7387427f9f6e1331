export {};
//# sourceMappingURL=disk.test.d.ts.map