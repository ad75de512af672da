import { createServer, type Server, type Socket, connect } from 'node:net'

export interface ChaosProxy {
  port: number
  /** Cuts every open connection at random intervals of minMs..maxMs until stopped. */
  startCutting(minMs: number, maxMs: number): void
  stopCutting(): void
  /** Cuts every open connection now; returns how many sockets it tore. */
  cutNow(): number
  close(): Promise<void>
}

/**
 * A TCP proxy between agents and a bridge that can cut every connection at
 * once, as a flaky network does: no close frames, just torn sockets.
 */
export async function startChaosProxy(target: () => number | undefined): Promise<ChaosProxy> {
  const open = new Set<Socket>()
  let timer: NodeJS.Timeout | undefined
  const server: Server = createServer((client) => {
    const port = target()
    if (port === undefined) {
      client.destroy()
      return
    }
    const upstream = connect(port, '127.0.0.1')
    open.add(client)
    open.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', drop)
    upstream.on('error', drop)
    client.on('close', drop)
    upstream.on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('proxy has no port')
  const proxy: ChaosProxy = {
    port: address.port,
    startCutting(minMs, maxMs) {
      const next = () => {
        timer = setTimeout(
          () => {
            proxy.cutNow()
            next()
          },
          minMs + Math.random() * (maxMs - minMs),
        )
      }
      next()
    },
    stopCutting() {
      clearTimeout(timer)
    },
    cutNow() {
      const torn = open.size
      for (const s of open) s.destroy()
      open.clear()
      return torn
    },
    async close() {
      clearTimeout(timer)
      for (const s of open) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return proxy
}
