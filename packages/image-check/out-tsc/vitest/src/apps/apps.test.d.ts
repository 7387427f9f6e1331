export {};
//# sourceMappingURL=apps.test.d.ts.map