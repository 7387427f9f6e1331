export {};
//# sourceMappingURL=xmlrpc.test.d.ts.map