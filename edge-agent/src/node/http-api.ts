/**
 * The local HTTP API for other programs on the device, on 127.0.0.1 by
 * default: POST /predict, GET /healthz, GET /models, POST /models/install,
 * GET /link (the link to the bridge and its outbox, when configured).
 * Errors are JSON { error: { code, message } } with a fitting status.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Agent } from '../core/agent.ts'
import { AgentError, type AgentErrorCode, toAgentError } from '../core/errors.ts'

const STATUS: Partial<Record<AgentErrorCode, number>> = {
  E_NO_MODEL: 503,
  E_PAYLOAD_TOO_LARGE: 413,
  E_NOT_FOUND: 404,
  E_INTERNAL: 500,
  E_INFERENCE: 500,
  E_OUTPUT_NONFINITE: 422,
  E_BUSY: 409,
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function sendError(res: ServerResponse, error: unknown): void {
  const e = toAgentError(error)
  send(res, STATUS[e.code] ?? 400, { error: e.toJSON() })
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) throw new AgentError('E_PAYLOAD_TOO_LARGE', `the body exceeds ${limit} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (e) {
    throw new AgentError('E_JSON', `the body is not JSON (${(e as Error).message})`)
  }
}

export interface HttpApi {
  url: string
  close(): Promise<void>
}

export async function startHttpApi(
  agent: Agent,
  options: {
    host: string
    port: number
    maxBodyBytes: number
    shadow: boolean
    /** The link to the bridge, its outbox, deliveries and model updates (GET /link); none: offline only. */
    link?: (() => unknown) | undefined
  },
): Promise<HttpApi> {
  const started = Date.now()
  const server: Server = createServer(async (req, res) => {
    const route = `${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`
    try {
      switch (route) {
        case 'POST /predict': {
          const body = (await readJson(req, options.maxBodyBytes)) as { input?: unknown } | null
          if (typeof body !== 'object' || body === null || !('input' in body))
            throw new AgentError('E_INPUT_INVALID', 'the body must be {"input": {feature: value, ...}}')
          send(res, 200, await agent.predict(body.input))
          return
        }
        case 'GET /healthz': {
          const current = agent.current
          send(res, current ? 200 : 503, {
            status: current ? 'ok' : 'no-model',
            model: current ? { name: current.name, version: current.version } : null,
            uptimeSeconds: Math.round((Date.now() - started) / 1000),
          })
          return
        }
        case 'GET /models': {
          const status = await agent.status()
          const m = agent.current
          send(res, 200, {
            ...status,
            inputs: m?.inputs.map((i) => ({
              name: i.name,
              dtype: i.dtype,
              shape: i.shape,
              features: i.features,
              units: i.units,
            })),
            outputs: m?.outputs,
          })
          return
        }
        case 'GET /link': {
          if (options.link === undefined)
            throw new AgentError('E_NOT_FOUND', 'no bridge is configured (agent.json "bridge")')
          send(res, 200, options.link())
          return
        }
        case 'POST /models/install': {
          const body = (await readJson(req, options.maxBodyBytes)) as {
            manifestUrl?: unknown
            filesUrl?: unknown
            shadow?: unknown
          }
          if (typeof body?.manifestUrl !== 'string')
            throw new AgentError('E_INPUT_INVALID', 'the body must be {"manifestUrl": "..."}')
          const source =
            typeof body.filesUrl === 'string'
              ? { manifestUrl: body.manifestUrl, filesUrl: body.filesUrl }
              : { manifestUrl: body.manifestUrl }
          const outcome = await agent.install(source, { shadow: body.shadow === true && options.shadow })
          send(
            res,
            outcome.outcome === 'activated' || outcome.outcome === 'shadow'
              ? 200
              : outcome.outcome === 'download-failed'
                ? 502
                : 422,
            outcome,
          )
          return
        }
        default:
          throw new AgentError('E_NOT_FOUND', `no route ${route}`)
      }
    } catch (e) {
      sendError(res, e)
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, resolve)
  })
  const { address, port } = server.address() as AddressInfo
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
