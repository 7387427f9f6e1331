import { describe, expect, it } from 'vitest';
import { NovaProtocol } from './commands.js';
import { encodeReply } from './xenstore-loop.js';
import { makeGuestTree } from './test-helpers/tree.js';

// Random requests (seeded): every one gets a {returncode, message} of strings that fits one
// xenstore write, and nothing is written outside the tree.
describe('nova protocol under random requests', () => {
  it('always answers with string codes and never throws', async () => {
    const tree = makeGuestTree();
    const protocol = new NovaProtocol({ root: tree.root, readNetworking: async () => ['{"mac":"zz"}', 'nope'] });
    let s = 99;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x100000000);
    const names = ['version', 'features', 'keyinit', 'password', 'injectfile', 'file_inject', 'resetnetwork', 'agentupdate', 'x', '', '__proto__'];
    const values = [null, 1, -1, '', 'AAAA', '0', '1', '9'.repeat(33), { b64_path: 'Lw==', b64_file: '' }, { b64_path: 'Li4vZXRjL3Bhc3N3ZA==', b64_file: 'eA==' }, [1, 2], 'Lyxh', '%%%'];
    try {
      for (let i = 0; i < 300; i++) {
        const r = rand();
        const raw = r < 0.1 ? '{"name":' : r < 0.2 ? String(rand()) : JSON.stringify({ name: names[Math.floor(rand() * names.length)], value: values[Math.floor(rand() * values.length)] });
        const reply = await protocol.handle(raw);
        expect(typeof reply.returncode).toBe('string');
        expect(typeof reply.message).toBe('string');
        expect(JSON.parse(encodeReply('data/guest/x', reply))).toMatchObject({ returncode: reply.returncode });
      }
    } finally {
      tree.cleanup();
    }
  });
});
