// Hot-plug shared by VBD and VIF: plugging needs a running VM; XAPI's DEVICE_ALREADY_* errors.
import { fail } from '../wire/failure.js';
import type { HandlerTable } from './context.js';

export function plugHandlers(cls: 'VBD' | 'VIF'): HandlerTable {
  const set = (attached: boolean, force: boolean) => (ctx: Parameters<HandlerTable[string]>[0], ref: unknown) => {
    const { store } = ctx.lab;
    const rec = store.require(cls, ref as string);
    if (attached) {
      const vm = store.require('VM', rec.VM as string);
      if (vm.power_state !== 'Running') fail('VM_BAD_POWER_STATE', rec.VM as string, 'running', (vm.power_state as string).toLowerCase());
      if (rec.currently_attached === true) fail('DEVICE_ALREADY_ATTACHED', ref as string);
    } else if (!force && rec.currently_attached !== true) fail('DEVICE_ALREADY_DETACHED', ref as string);
    store.update(cls, ref as string, { currently_attached: attached });
    return '';
  };
  return { [`${cls}.plug`]: set(true, false), [`${cls}.unplug`]: set(false, false), [`${cls}.unplug_force`]: set(false, true) };
}
