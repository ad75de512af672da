#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader, with the Kafka
// client's record batch encoder replaced as in the production build.
import { register as registerHooks } from 'node:module'
import { register } from 'tsx/esm/api'

register()
registerHooks('../scripts/record-batch-hooks.ts', import.meta.url)
await import('../src/cli.ts')
