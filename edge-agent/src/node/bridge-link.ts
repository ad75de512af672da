/**
 * The agent wired to its bridge on Node (the `bridge` section of agent.json):
 * the file outbox, the link over `ws`, predictions recorded into the outbox,
 * records and requests from Kafka, and model updates pushed by the bridge.
 */

import type { Agent } from '../core/agent.ts'
import { systemClock } from '../core/link/clock.ts'
import { Deliveries, type DeliveriesStats } from '../core/link/deliveries.ts'
import { Link, type LinkStats } from '../core/link/link.ts'
import { ModelUpdates, type ModelUpdatesStats } from '../core/link/model-updates.ts'
import { predictHandler, RequestHandlers } from '../core/link/requests.ts'
import { recordPredictions } from '../core/outbox/predictions.ts'
import type { BridgeConfig } from './bridge-config.ts'
import { wsSocket } from './link/ws-socket.ts'
import { FileOutbox } from './outbox/file-outbox.ts'

export interface BridgeLinkStatus extends LinkStats {
  bridge: string
  deliveries: DeliveriesStats
  models: ModelUpdatesStats | null
  predictions: { recorded: boolean; appendErrors: number }
}

export interface BridgeLink {
  link: Link
  outbox: FileOutbox
  deliveries: Deliveries
  models: ModelUpdates | undefined
  status(): BridgeLinkStatus
  /** Stops the link (the session closes with 1000), waits for records being handled, closes the outbox. */
  close(): Promise<void>
}

export type BridgeLog = (event: string, payload: object) => void

export async function startBridgeLink(
  agent: Agent,
  config: BridgeConfig,
  options: { shadow: boolean; agentVersion: string; log: BridgeLog },
): Promise<BridgeLink> {
  const { log } = options
  const outbox = await FileOutbox.open(config.outbox.dir, {
    capBytes: config.outbox.capBytes,
    overflow: config.outbox.overflow,
    ttlMs: config.outbox.ttlMs,
  })
  let appendErrors = 0
  const unrecord = config.records.predictions
    ? recordPredictions(agent, outbox, {
        ...(config.records.topic !== undefined ? { topic: config.records.topic } : {}),
        ...(config.records.models !== undefined ? { models: config.records.models } : {}),
        onError: (error) => {
          appendErrors++
          log('outbox-append-failed', { message: (error as Error).message })
        },
      })
    : () => {}
  outbox.on('dropped', (e) => log('outbox-dropped', e))
  outbox.on('corrupt', (e) => log('outbox-corrupt', e))

  const link = new Link({
    url: config.url,
    outbox,
    socket: wsSocket,
    token: config.token,
    agent: { name: 'kafka-edge-agent', version: options.agentVersion },
  })
  link.on('online', (e) => log('online', e))
  link.on('offline', (e) => log('offline', e))
  link.on('error', (e) => log('link-error', e))

  const requests = new RequestHandlers()
  requests.register('predict', predictHandler(agent))
  const deliveries = new Deliveries({ link, topics: config.commands.topics, requests, clock: systemClock })
  deliveries.on('subscribed', (e) => log('subscribed', e))
  deliveries.on('record', (e) => log('record', e))
  deliveries.on('request', (e) => log('request', e))
  deliveries.on('request-skipped', (e) => log('request-skipped', e))
  deliveries.on('handler-error', (e) => log('handler-error', e))

  let models: ModelUpdates | undefined
  if (config.models.updates) {
    models = new ModelUpdates({
      link,
      agent,
      baseUrl: config.url,
      ...(config.models.filesUrl !== undefined ? { filesUrl: config.models.filesUrl } : {}),
      shadow: options.shadow,
      retryMs: config.models.retrySeconds * 1000,
      clock: systemClock,
    })
    models.on('update', (e) => log('model-update', e))
    models.on('status', (e) => log('model-status', e))
    models.start()
  }
  deliveries.start()
  link.start()

  return {
    link,
    outbox,
    deliveries,
    models,
    status: () => ({
      bridge: config.url,
      ...link.stats(),
      deliveries: deliveries.stats(),
      models: models?.stats() ?? null,
      predictions: { recorded: config.records.predictions, appendErrors },
    }),
    async close() {
      unrecord()
      models?.stop()
      await deliveries.stop()
      await link.stop()
      await outbox.close()
    },
  }
}
