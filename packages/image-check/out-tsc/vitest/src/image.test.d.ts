export {};
//# sourceMappingURL=image.test.d.ts.map