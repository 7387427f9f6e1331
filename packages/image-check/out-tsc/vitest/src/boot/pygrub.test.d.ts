export {};
//# sourceMappingURL=pygrub.test.d.ts.map