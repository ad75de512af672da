/**
 * Where onnxruntime-web's WebAssembly comes from in Node: the files beside
 * the running bundle (dist/), else the installed onnxruntime-web package.
 * Never a CDN: both are local files, the glue module is imported from its
 * file and reads the binary from beside it.
 */

import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { AgentError } from '../core/errors.ts'
import type { OnnxWasmSource } from '../core/ports.ts'

const ORT_WASM = 'ort-wasm-simd-threaded.wasm'
const ORT_GLUE = 'ort-wasm-simd-threaded.mjs'

function findOrtWasmDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  if (existsSync(join(here, ORT_WASM)) && existsSync(join(here, ORT_GLUE))) return here
  try {
    return dirname(createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_WASM}`))
  } catch {
    throw new AgentError('E_ENGINE_LOAD', `${ORT_WASM} is neither beside the agent (${here}) nor installed`)
  }
}

/**
 * Paths only, no bytes: the glue reads the local .wasm itself and lets the
 * buffer go once compiled. A binary handed over in `wasmBinary` stays
 * referenced by the runtime for the life of the process (14 MB, and ~35 MB
 * more RSS measured with it).
 */
export async function nodeOnnxWasm(): Promise<OnnxWasmSource> {
  const dir = findOrtWasmDir()
  return {
    wasmPaths: { mjs: pathToFileURL(join(dir, ORT_GLUE)).href, wasm: pathToFileURL(join(dir, ORT_WASM)).href },
  }
}

/**
 * Threads for a WASM session: half the cores (the device has other work),
 * at most 4, and 1 below 4 cores, where thread start-up and hand-offs cost
 * more than they save on small models at batch 1.
 */
export function defaultThreads(cores = availableParallelism()): number {
  return cores < 4 ? 1 : Math.min(4, Math.floor(cores / 2))
}
