export {};
//# sourceMappingURL=configdrive.test.d.ts.map