export {};
//# sourceMappingURL=lab.test.d.ts.map