import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { callCommand } from './xapi/call.js';
import { addConnectionOptions } from './xapi/connection.js';
import { eventsCommand } from './xapi/events.js';
import { hostsCommand, srsCommand, vdisCommand, vmsCommand } from './xapi/list.js';
import { vdiCommand } from './xapi/vdi.js';
import { vmCommand } from './xapi/vm.js';

/** `xenkit xapi …`: operate a XenServer/XCP-ng pool through XenAPI. */
export function xapiCommand(ctx: CliContext): Command {
  const xapi = addConnectionOptions(
    new Command('xapi').description('talk to XenServer/XCP-ng through XenAPI (XENKIT_URL, XENKIT_USER, XENKIT_PASSWORD)'),
  );
  for (const make of [hostsCommand, vmsCommand, srsCommand, vdisCommand, vmCommand, vdiCommand, callCommand, eventsCommand]) {
    xapi.addCommand(make(ctx));
  }
  return xapi;
}
