export { NovaProtocol, FEATURES, AGENT_VERSION, type NovaReply, type CommandContext } from './commands.js';
export { NovaRequestLoop, readNetworking, encodeReply } from './xenstore-loop.js';
export { DiffieHellman, decryptPassword, evpBytesToKey, parsePeerPublic, DH_PRIME, DH_GENERATOR } from './crypto.js';
export { injectKeys, mergeAuthorizedKeys, parseKeys, keyBlob, lookupUser, readPasswd, type PasswdEntry } from './keys.js';
export { safeRead, safeWrite, safeSymlink, type SafeTarget } from './safe-write.js';
