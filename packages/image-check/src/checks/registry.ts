import { autoDiskConfig } from './auto-disk-config.js';
import { cloudInit } from './cloud-init.js';
import { consoleLog } from './console-log.js';
import { firewall } from './firewall.js';
import { keyInjection } from './key-injection.js';
import { macPersistence } from './mac-persistence.js';
import { pvKernel } from './pv-kernel.js';
import { resizeOnBoot } from './resize-on-boot.js';
import { sshServer } from './ssh-server.js';
import type { Check } from './types.js';

/** Every check, in report order. Adding a check: one file in checks/ and one line here. */
export const CHECKS: readonly Check[] = [autoDiskConfig, resizeOnBoot, macPersistence, sshServer, firewall, cloudInit, keyInjection, consoleLog, pvKernel];
