export {};
//# sourceMappingURL=protocol-fuzz.test.d.ts.map