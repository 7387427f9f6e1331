export {};
//# sourceMappingURL=client.test.d.ts.map