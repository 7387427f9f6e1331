export {};
//# sourceMappingURL=interop.test.d.ts.map