export {};
//# sourceMappingURL=logging.test.d.ts.map