#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader; the shipped
// agent is the single-file bundle dist/node/kafka-edge-agent.mjs (npm run build).
import { register } from 'tsx/esm/api'

register()
await import('../src/node/main.ts')
