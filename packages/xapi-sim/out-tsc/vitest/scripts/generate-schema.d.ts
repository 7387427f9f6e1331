export {};
//# sourceMappingURL=generate-schema.d.ts.map