export {};
//# sourceMappingURL=deploy.test.d.ts.map