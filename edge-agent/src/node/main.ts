/** Entry point of the kafka-edge-agent command (and of the Node bundle). */

import { setFlagsFromString } from 'node:v8'
import { main } from './cli.ts'

// onnxruntime-web's .wasm is 14 MB: V8's optimizing tier recompiles all of it
// in the background, which doubles the start-up time and adds ~90 MB of RSS
// for no gain on small models. Liftoff's baseline code serves them well
// (docs/agent.md, "Trade-offs"). KAFKA_EDGE_AGENT_V8_FLAGS="" restores V8's defaults.
const v8Flags = process.env.KAFKA_EDGE_AGENT_V8_FLAGS ?? '--liftoff-only'
if (v8Flags !== '') setFlagsFromString(v8Flags)

process.exitCode = await main(process.argv.slice(2))
