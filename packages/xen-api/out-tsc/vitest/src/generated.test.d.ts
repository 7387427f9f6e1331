export {};
//# sourceMappingURL=generated.test.d.ts.map