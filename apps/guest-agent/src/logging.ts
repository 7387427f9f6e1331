import pino from 'pino';
import { SECRET_KEYS, type Logger } from '@xenkit/core';

/** The agent's logger: JSON lines on stderr (journald keeps them), secrets redacted at any shallow depth. */
export function makeAgentLogger(level = 'info'): Logger {
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  return pino(
    { name: 'xenkit-agent', level, redact: { paths, censor: '[redacted]' }, base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  ) as unknown as Logger;
}
