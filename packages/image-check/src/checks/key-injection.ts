import type { ReadOnlyFileSystem } from '@xenkit/disk';
import { enablementLinks, findUnit, serviceState } from '../services.js';
import { isFile } from '../text.js';
import { bootScripts } from './boot-hooks.js';
import { enabledModules } from './cloud-config.js';
import { cloudInitState } from './cloud-init-state.js';
import type { Check } from './types.js';

/** The xenkit guest agent's install contract (apps/guest-agent): enabled unit + entry script. */
export const XENKIT_AGENT_UNIT = 'xenkit-agent.service';
export const XENKIT_AGENT_SCRIPT = '/usr/local/lib/xenkit-agent/xenkit-agent.mjs';

/** Where the agent's launcher looks for node (apps/guest-agent install.ts). */
const NODE_PATHS = ['/usr/bin/node', '/usr/local/bin/node', '/usr/bin/nodejs'];

async function xenkitAgent(fs: ReadOnlyFileSystem): Promise<string[] | null> {
  const unit = (await isFile(fs, `/etc/systemd/system/${XENKIT_AGENT_UNIT}`)) ? `/etc/systemd/system/${XENKIT_AGENT_UNIT}` : (await isFile(fs, `/usr/lib/systemd/system/${XENKIT_AGENT_UNIT}`)) ? `/usr/lib/systemd/system/${XENKIT_AGENT_UNIT}` : null;
  if (!unit || !(await isFile(fs, XENKIT_AGENT_SCRIPT))) return null;
  const link = (await enablementLinks(fs)).find((l) => l.name === XENKIT_AGENT_UNIT || l.target.endsWith(`/${XENKIT_AGENT_UNIT}`));
  return link ? [`${link.path} -> ${link.target}`, `${unit} installed`, `${XENKIT_AGENT_SCRIPT} present`] : null;
}

const METADATA_KEYS = /169\.254\.169\.254\/[^\s'"]*public-keys/;

export const keyInjection: Check = {
  id: 'key-injection',
  title: 'Something injects the SSH public key at boot',
  requirement: 'Access instance by using ssh public key (cloud-init)',
  async run(ctx) {
    const fs = ctx.fs;
    const found: string[] = [];
    const notes: string[] = [];
    const ci = await cloudInitState(ctx);
    const cfg = ci.cfg;
    if (ci.stopped) notes.push(`${ci.stopped.summary} (${ci.stopped.evidence})`);
    if (ci.runs) {
      const mods = enabledModules(cfg);
      if (mods.has('ssh')) found.push(`cloud-init's ssh module is enabled (${cfg.files[0] ?? '/etc/cloud/cloud.cfg'})`);
      else notes.push('cloud-init is installed but its ssh module is not in any module list');
    }
    const agent = await xenkitAgent(fs);
    let agentWithoutNode = false;
    if (agent) {
      let node: string | undefined;
      for (const p of NODE_PATHS) if (await isFile(fs, p)) { node = p; break; }
      if (node) found.push(`xenkit guest agent: ${agent.join(', ')}, ${node} present`);
      else {
        agentWithoutNode = true;
        notes.push(`xenkit guest agent installed (${agent[0]}) but no node in ${NODE_PATHS.join(', ')}: its launcher exits 127`);
      }
    }
    const nova = await serviceState(fs, ['nova-agent.service'], ['nova-agent']);
    if (nova.enabled) found.push(`nova-agent enabled (${nova.evidence.join('; ')})`);
    else if (await findUnit(fs, 'nova-agent.service')) notes.push('nova-agent is installed but not enabled');
    const hooks = await bootScripts(ctx);
    for (const sc of hooks.scripts) {
      const line = sc.lines.find((l) => METADATA_KEYS.test(l));
      if (line) found.push(`${sc.path} (${sc.how}) fetches http://169.254.169.254/…/public-keys`);
    }
    notes.push(...hooks.notes);
    if (found.length === 0 && agentWithoutNode) {
      return { status: 'fail', summary: 'the xenkit guest agent is installed but cannot start: the image has no node', evidence: notes, fix: 'Install Node.js ≥ 20 in the image (apt/dnf install nodejs), or install cloud-init.' };
    }
    if (found.length > 0) return { status: 'pass', summary: found.length === 1 ? `${found[0]}` : `${found.length} mechanisms inject the key: ${found.map((f) => f.split(/[ (:]/)[0]).join(', ')}`, evidence: [...found, ...notes], fix: '' };
    return {
      status: 'fail',
      summary: 'nothing in the image fetches the SSH public key from the metadata service or config drive',
      evidence: notes.length ? notes : ['no cloud-init ssh module, xenkit agent, nova-agent, or metadata-fetching boot script'],
      fix: 'Install cloud-init (its ssh module injects the key), or install the xenkit guest agent, or add the guide\'s rc.local script fetching http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key.',
    };
  },
};
