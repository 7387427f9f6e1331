export {};
//# sourceMappingURL=header.test.d.ts.map