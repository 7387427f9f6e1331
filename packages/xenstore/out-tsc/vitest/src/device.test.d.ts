export {};
//# sourceMappingURL=device.test.d.ts.map