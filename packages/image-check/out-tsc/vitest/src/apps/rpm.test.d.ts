export {};
//# sourceMappingURL=rpm.test.d.ts.map