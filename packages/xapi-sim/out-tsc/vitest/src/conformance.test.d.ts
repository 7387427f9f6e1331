export {};
//# sourceMappingURL=conformance.test.d.ts.map