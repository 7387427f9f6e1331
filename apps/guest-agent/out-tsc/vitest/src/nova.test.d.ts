export {};
//# sourceMappingURL=nova.test.d.ts.map