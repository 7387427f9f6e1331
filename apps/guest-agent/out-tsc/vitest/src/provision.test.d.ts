export {};
//# sourceMappingURL=provision.test.d.ts.map