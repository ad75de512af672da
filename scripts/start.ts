// `npm start`: the development stack. Starts Kafka (unless KAFKA_BROKERS is set),
// the bridge, the browser demo (built, served, its URL printed with a dev token)
// and two simulated devices, and prints what runs where. Ctrl-C stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildDemo } from '@kafka-edge/browser-demo/build'
import { type DemoServer, startDemoServer } from '@kafka-edge/browser-demo/server'
import { externalBrokers, freePort, startBroker, type RunningBroker } from '@kafka-edge/dev-kafka'
import { SignJWT } from 'jose'

const bridgeBin = fileURLToPath(new URL('../proxy-bridge/bin/kafka-edge-bridge.js', import.meta.url))
const simulatorScript = fileURLToPath(new URL('./simulated-device.ts', import.meta.url))
const devModelKey = fileURLToPath(new URL('../models/keys/dev-ed25519.public.pem', import.meta.url))
const log = (line: string) => console.log(`[start] ${line}`)

const children: ChildProcess[] = []
let broker: RunningBroker | undefined
let demo: DemoServer | undefined
let stopping = false

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    log('stopping...')
    await demo?.close()
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            child.once('exit', () => resolve())
            child.kill('SIGTERM')
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
          }),
      ),
    )
    if (broker?.started) {
      await broker.stop()
      log('Kafka stopped')
    }
  }
  process.exit(code)
}

process.on('SIGINT', () => void stopAll(0))
process.on('SIGTERM', () => void stopAll(0))

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bridge exited with code ${child.exitCode}`)
    try {
      const response = await fetch(`${url}/readyz`)
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}

async function main(): Promise<void> {
  let brokers = externalBrokers()
  if (brokers) {
    log(`using Kafka at ${brokers.join(',')} (KAFKA_BROKERS)`)
  } else {
    broker = await startBroker({ name: 'default', port: Number(process.env.KAFKA_PORT ?? 0), log })
    brokers = [broker.bootstrap]
  }

  const bridgePort = Number(process.env.BRIDGE_PORT ?? 8080) || (await freePort())
  // A throw-away HS256 secret for this run unless one is given: dev tokens die with the stack.
  const secret = process.env.BRIDGE_JWT_SECRETS?.split(',')[0] ?? randomBytes(32).toString('hex')
  // The bridge accepts models signed with the development key (models/keys/) unless told otherwise.
  const scratch = mkdtempSync(join(tmpdir(), 'kafka-edge-start-'))
  const modelKeys = join(scratch, 'model-keys.json')
  writeFileSync(modelKeys, JSON.stringify({ dev: devModelKey }))
  const bridge = spawn(process.execPath, [bridgeBin], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      BRIDGE_PORT: String(bridgePort),
      BRIDGE_JWT_SECRETS: process.env.BRIDGE_JWT_SECRETS ?? secret,
      BRIDGE_MODEL_KEYS_FILE: process.env.BRIDGE_MODEL_KEYS_FILE ?? modelKeys,
    },
  })
  children.push(bridge)
  bridge.once('exit', (code) => {
    if (!stopping) {
      log(`bridge exited (code ${code}); stopping the stack`)
      void stopAll(1)
    }
  })
  const bridgeUrl = `http://127.0.0.1:${bridgePort}`
  await waitReady(bridgeUrl, bridge)
  const devToken = (deviceId: string) =>
    new SignJWT({ groups: ['dev'], topics: ['edge.*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(deviceId)
      .setIssuedAt()
      .setExpirationTime('12h')
      .sign(new TextEncoder().encode(secret))
  const token = await devToken('dev-device-1')

  // Two simulated devices (one with a worn bearing), so the demo's fleet panel is alive at once.
  for (const [deviceId, fault] of [
    ['sim-device-1', '0'],
    ['sim-device-2', '0.4'],
  ] as const) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', simulatorScript, bridgeUrl, await devToken(deviceId), join(scratch, deviceId), fault],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    )
    children.push(child)
  }

  log('building the browser demo...')
  const demoPort = Number(process.env.DEMO_PORT ?? 8081)
  demo = await startDemoServer({ root: await buildDemo(), bridgeUrl, port: demoPort })
  const demoUrl = `${demo.url}/#token=${await devToken('browser-1')}`

  console.log(`
kafka-edge dev stack is up
  Kafka      ${brokers.join(',')}${broker ? (broker.started ? ' (started by npm start)' : ' (reused)') : ' (KAFKA_BROKERS)'}
  Bridge     ${bridgeUrl}   health ${bridgeUrl}/healthz   ready ${bridgeUrl}/readyz   metrics ${bridgeUrl}/metrics
  WebSocket  ${bridgeUrl.replace('http', 'ws')}/v1/ws  (subprotocol kafka-edge.v1)
  Demo       ${demoUrl}
             (the browser demo as device "browser-1"; sim-device-1 and sim-device-2 send telemetry)
  Dev token  for device "dev-device-1", valid 12 h (Authorization: Bearer ...):
             ${token}
Ctrl-C stops everything npm start started.
`)
}

main().catch((error: unknown) => {
  console.error(`[start] ${error instanceof Error ? error.message : String(error)}`)
  void stopAll(1)
})
