export {};
//# sourceMappingURL=os.test.d.ts.map