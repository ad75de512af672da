// A simulated Node device for `npm start`: a bearing sensor (the browser demo's
// simulator) whose window statistics go through a file outbox and the link to
// the bridge, so the demo's fleet panel shows other devices from the first second.
//
//   tsx scripts/simulated-device.ts <bridge-url> <token> <data-dir> [fault 0..1]
import { FileOutbox } from '../edge-agent/src/node/outbox/index.ts'
import { wsSocket } from '../edge-agent/src/node/link/ws-socket.ts'
import { Link } from '../edge-agent/src/core/link/link.ts'
import { BearingSimulator } from '../browser-demo/src/vibration.ts'

const [bridgeUrl, token, dataDir, fault] = process.argv.slice(2)
if (!bridgeUrl || !token || !dataDir) {
  console.error('usage: simulated-device.ts <bridge-url> <token> <data-dir> [fault 0..1]')
  process.exit(2)
}

const outbox = await FileOutbox.open(dataDir)
const link = new Link({ url: bridgeUrl, outbox, socket: wsSocket, token: () => token })
const sensor = new BearingSimulator()
sensor.fault = Number(fault ?? 0)
link.start()

const timer = setInterval(() => {
  const window = sensor.next()
  let sum = 0
  let peak = 0
  for (const v of window) {
    sum += v * v
    peak = Math.max(peak, Math.abs(v))
  }
  const rms = Math.sqrt(sum / window.length)
  void outbox.append({
    value: { type: 'telemetry', rms: Number(rms.toFixed(4)), crest: Number((peak / rms).toFixed(3)) },
    headers: { 'kafka-edge-type': 'telemetry' },
  })
}, 1000)

const stop = async () => {
  clearInterval(timer)
  await link.stop()
  await outbox.close()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
