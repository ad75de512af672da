/// <reference lib="dom" />
/**
 * The browser device: one agent per model (IndexedDB slots), one IndexedDB
 * outbox their predictions go to, and the link that drains it to the bridge
 * over the native WebSocket. Model updates arrive as `model` frames the bridge
 * pushes at session start and on every publish; nothing here polls.
 */

import { type Agent, createBrowserAgent } from '@kafka-edge/edge-agent/browser'
import { IdbOutbox } from '@kafka-edge/edge-agent/browser/outbox'
import { nativeSocket } from '@kafka-edge/edge-agent/browser/link'
import { Link } from '@kafka-edge/edge-agent/link'
import { parseManifest } from '@kafka-edge/edge-agent/models/manifest'
import { recordPredictions } from '@kafka-edge/edge-agent/outbox/predictions'
import type { ModelFrame } from '@kafka-edge/edge-agent/protocol'
import { bridgeAuthorization } from '@kafka-edge/edge-agent/link/bridge-authorization'

export const WINE = 'wine'
export const VIBRATION = 'vibration-anomaly'

export interface DeviceOptions {
  /** The bridge's base URL: this page's origin (the demo server forwards /v1 to the bridge). */
  bridgeUrl: string
  token: string
  deviceId: string
  /** keyId -> Ed25519 public key (PEM): the keys model manifests must be signed with. */
  publicKeys: Record<string, string>
}

export interface Device {
  agents: Map<string, Agent>
  outbox: IdbOutbox
  link: Link
  /** Records appended since the page loaded. */
  appended(): number
  /** Model versions the bridge offered and this device refused: never offered again. */
  refused: Set<string>
  setOnline(online: boolean): void
}

/** The page ships v1 of the vibration model beside itself: the offline fallback, as wine is bundled in the agent. */
async function pageModel(name: string) {
  const base = new URL(`models/${name}/`, location.href)
  const manifest = parseManifest(await (await fetch(new URL('manifest.json', base))).text())
  const files = new Map<string, Uint8Array>()
  for (const file of manifest.files) {
    files.set(file.path, new Uint8Array(await (await fetch(new URL(file.path, base))).arrayBuffer()))
  }
  return { manifest, files }
}

export async function openDevice(options: DeviceOptions): Promise<Device> {
  const { bridgeUrl, token, deviceId } = options
  const bridgeHeaders = bridgeAuthorization(bridgeUrl, () => token)
  const agents = new Map<string, Agent>()
  for (const name of [WINE, VIBRATION]) {
    const agent = await createBrowserAgent({
      publicKeys: options.publicKeys,
      databaseName: `kafka-edge-demo-${deviceId}-${name}`,
      modelName: name,
      ...(name === WINE ? {} : { bundledModel: () => pageModel(name) }),
      downloadHeaders: bridgeHeaders,
    })
    await agent.start()
    agents.set(name, agent)
  }

  const outbox = await IdbOutbox.open(`kafka-edge-demo-${deviceId}`)
  // Every prediction becomes one outbox record (appends group-commit, so count predictions, not flushes).
  let appended = 0
  for (const agent of agents.values()) {
    recordPredictions(agent, outbox)
    agent.on('prediction', () => {
      appended++
    })
  }

  const link = new Link({
    url: bridgeUrl,
    outbox,
    socket: nativeSocket(),
    token: () => token,
    agent: { name: 'kafka-edge-browser-demo', version: '0.1.0' },
    // A demo should notice the bridge coming back within seconds.
    backoff: { baseMs: 250, capMs: 3000 },
  })

  const refused = new Set<string>()
  const installing = new Map<string, Promise<unknown>>()
  link.onFrame('model', (frame: ModelFrame) => {
    const agent = agents.get(frame.name)
    const current = agent?.current
    if (!agent || (current && current.version >= frame.version) || refused.has(`${frame.name}@${frame.version}`)) return
    const previous = installing.get(frame.name) ?? Promise.resolve()
    const next = previous.then(async () => {
      const outcome = await agent.install({
        manifestUrl: new URL(frame.manifestUrl, bridgeUrl).href,
        filesUrl: `${bridgeUrl}/v1/models/{name}/{version}/files/{path}`,
      })
      const state = outcome.outcome === 'activated' ? 'activated' : outcome.outcome === 'rejected' ? 'rejected' : null
      if (outcome.outcome === 'rejected') refused.add(`${frame.name}@${frame.version}`)
      if (state) {
        link.send({
          type: 'model-status',
          name: frame.name,
          version: frame.version,
          state,
          ...('message' in outcome ? { reason: outcome.message.slice(0, 200) } : {}),
        })
      }
    })
    installing.set(frame.name, next)
  })

  link.start()
  return {
    agents,
    outbox,
    link,
    appended: () => appended,
    refused,
    setOnline(online) {
      if (online) link.start()
      else void link.stop()
    },
  }
}
