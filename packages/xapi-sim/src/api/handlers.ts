import type { HandlerTable } from './context.js';
import { eventHandlers } from './events.js';
import { miscHandlers } from './misc.js';
import { sessionHandlers } from './session.js';
import { storageHandlers } from './storage.js';
import { taskHandlers } from './tasks.js';
import { vmHandlers } from './vm.js';

/** Behaviour beyond the generic accessors, keyed "Class.message". Add a call here. */
export const HANDLERS: HandlerTable = {
  ...sessionHandlers,
  ...taskHandlers,
  ...eventHandlers,
  ...vmHandlers,
  ...storageHandlers,
  ...miscHandlers,
};
