export {};
//# sourceMappingURL=parsers.fuzz.d.ts.map