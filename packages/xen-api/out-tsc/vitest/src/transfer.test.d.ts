export {};
//# sourceMappingURL=transfer.test.d.ts.map