// Regenerate src/generated/schema.ts: node --import tsx packages/xapi-sim/scripts/generate-schema.ts [xenapi.json]
import { writeFileSync } from 'node:fs';
import { findXenapiJson, GENERATED_PATH, renderFromFile } from './schema-source.js';

const input = process.argv[2] ?? findXenapiJson(import.meta.dirname);
writeFileSync(GENERATED_PATH, renderFromFile(input));
process.stdout.write(`wrote ${GENERATED_PATH} from ${input}\n`);
