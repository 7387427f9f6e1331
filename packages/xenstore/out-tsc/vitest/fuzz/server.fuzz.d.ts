export {};
//# sourceMappingURL=server.fuzz.d.ts.map