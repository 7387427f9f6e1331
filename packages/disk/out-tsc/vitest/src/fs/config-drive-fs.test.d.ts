export {};
//# sourceMappingURL=config-drive-fs.test.d.ts.map