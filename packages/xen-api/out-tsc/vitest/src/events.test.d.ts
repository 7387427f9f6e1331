export {};
//# sourceMappingURL=events.test.d.ts.map