export {};
//# sourceMappingURL=netns.test.d.ts.map