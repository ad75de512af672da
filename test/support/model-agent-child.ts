/**
 * A child process for the kill -9 tests of the model lifecycle: an agent on
 * DATA_DIR installs MANIFEST_URL and SIGKILLs itself at CRASH_AT, one of
 *   before-promote   the download is complete, the folder not yet moved into models/
 *   after-promote    the folder is in models/, state.json not yet written
 *   in-state-write   the new state.json is written to its temporary file, not yet renamed
 *   after-state      state.json names the new model; memory not yet swapped
 * or never (CRASH_AT unset: the parent kills it, e.g. during the download).
 * TARGET_VERSION is the version being installed. Events are printed as JSON lines.
 */

import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseTrustedKeys } from '../../edge-agent/src/core/models/keys.ts'
import { createNodeAgent } from '../../edge-agent/src/node/agent.ts'
import { NodeModelStore } from '../../edge-agent/src/node/store.ts'

const env = process.env as {
  DATA_DIR: string
  MANIFEST_URL: string
  KEY_PEM: string
  CRASH_AT?: string
  TARGET_VERSION: string
}
const { DATA_DIR, MANIFEST_URL, KEY_PEM, CRASH_AT, TARGET_VERSION } = env

const die = (where: string) => {
  process.stdout.write(`${JSON.stringify({ event: 'crash', where })}\n`)
  process.kill(process.pid, 'SIGKILL')
}

// Crash points sit on the store: the moments between the durable steps of a swap.
const rename = NodeModelStore.prototype.rename
NodeModelStore.prototype.rename = async function (from: string, to: string) {
  if (CRASH_AT === 'before-promote' && from.startsWith('downloads/')) die(CRASH_AT)
  await rename.call(this, from, to)
  if (CRASH_AT === 'after-promote' && from.startsWith('downloads/')) die(CRASH_AT)
}
const write = NodeModelStore.prototype.write
NodeModelStore.prototype.write = async function (path: string, data: Uint8Array) {
  // The swap is the state write that makes the target version current.
  const swap =
    path === 'state.json' && JSON.parse(new TextDecoder().decode(data)).current?.version === Number(TARGET_VERSION)
  if (swap && CRASH_AT === 'in-state-write') {
    writeFileSync(join(this.root, `state.json.tmp-${randomBytes(4).toString('hex')}`), data)
    die(CRASH_AT)
  }
  await write.call(this, path, data)
  if (swap && CRASH_AT === 'after-state') die(CRASH_AT)
}

const agent = await createNodeAgent({ dataDir: DATA_DIR, publicKeys: parseTrustedKeys({ test: KEY_PEM }) })
for (const event of ['booted', 'download-progress', 'activated', 'rejected', 'download-failed'] as const)
  agent.on(event, (payload) => process.stdout.write(`${JSON.stringify({ event, ...payload })}\n`))
await agent.start()
const outcome = await agent.install({ manifestUrl: MANIFEST_URL })
process.stdout.write(`${JSON.stringify({ event: 'outcome', ...outcome })}\n`)
await agent.close()
