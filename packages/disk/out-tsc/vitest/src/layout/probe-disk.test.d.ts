export {};
//# sourceMappingURL=probe-disk.test.d.ts.map