// The connections benchmark's reference: a bare `ws` server with no app logic.
// It accepts the same subprotocol, answers hello with a one-line welcome (so
// clients count sessions the same way) and pings every socket like the bridge.
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'

const heartbeatMs = Number(process.env.HEARTBEAT_MS ?? 15_000)
const server = createServer((_req, res) => {
  res.writeHead(200).end('ok')
})
const wss = new WebSocketServer({
  server,
  path: '/v1/ws',
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('kafka-edge.v1') ? 'kafka-edge.v1' : false),
})
const alive = new WeakMap<WebSocket, boolean>()
wss.on('connection', (ws) => {
  alive.set(ws, true)
  ws.on('pong', () => alive.set(ws, true))
  ws.on('message', () => ws.send('{"type":"welcome"}'))
  ws.on('error', () => {})
})
setInterval(() => {
  for (const ws of wss.clients) {
    if (!alive.get(ws)) {
      ws.terminate()
      continue
    }
    alive.set(ws, false)
    ws.ping()
  }
}, heartbeatMs)
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address()
  console.log(`listening ${typeof address === 'object' && address ? address.port : ''}`)
})
process.once('SIGTERM', () => process.exit(0))
