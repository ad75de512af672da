// The ingest benchmark's reference: @platformatic/kafka transactional producers
// doing the Kafka work the bridge does, without the bridge.
import { randomUUID } from 'node:crypto'
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  type Message,
  MessagesStreamModes,
  type Producer,
  type MessageToProduce,
} from '@platformatic/kafka'
import { partitionOf } from '../../proxy-bridge/src/kafka/device-state.ts'
// The lanes' own producer settings (acks, retries of CONCURRENT_TRANSACTIONS): the reference differs from the bridge only in what it skips.
import { transactionalProducer } from '../../proxy-bridge/src/kafka/transaction-lane.ts'
import { headerKind, recordJson, traceparent } from './devices.ts'
import { CpuMeter } from './meters.ts'
import { log, sleep } from './stack.ts'

const traceparentName = Buffer.from('traceparent')

/** Creates a records topic (delete) and a state topic (compact) like the bridge's. */
export async function createTopicPair(
  brokers: string[],
  records: string,
  state: string,
  partitions: number,
): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: brokers })
  try {
    await admin.createTopics({
      topics: [records],
      partitions,
      replicas: 1,
      configs: [{ name: 'cleanup.policy', value: 'delete' }],
    })
    await admin.createTopics({
      topics: [state],
      partitions,
      replicas: 1,
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    })
  } finally {
    await admin.close()
  }
}

export interface DirectOptions {
  brokers: string[]
  kafkaPid?: number | undefined
  producers: number
  /** Devices whose records each producer's transactions carry (round robin), each with its own state record. */
  devicesPerProducer?: number
  recordsPerTxn: number
  recordsTopic: string
  stateTopic: string
  partitions: number
  warmupMs: number
  windowMs: number
}

/**
 * `producers` transactional producers, each looping: begin, send recordsPerTxn
 * records of its devices (keys = device ids, round robin) plus one state
 * record per device to the compacted topic, commit. Records count when their commit returns; the rate is taken over the
 * window after warm-up.
 */
export async function runDirect(
  options: DirectOptions,
): Promise<{ recordsPerS: number; txns: number; cpu: Record<string, number> }> {
  const run = randomUUID().slice(0, 8)
  let committed = 0
  let txns = 0
  let running = true
  const producers: Producer<Buffer, Buffer, Buffer, Buffer>[] = []
  const loops: Promise<void>[] = []
  const perProducer = options.devicesPerProducer ?? 1
  for (let i = 0; i < options.producers; i++) {
    const producer = transactionalProducer(`bench-direct-${run}-${i}`, {
      brokers: options.brokers,
      clientId: 'bench-direct',
      transactionTimeoutMs: 30_000,
    })
    producers.push(producer)
    const devices = Array.from({ length: perProducer }, (_, d) => {
      const deviceId = `direct-${run}-${String(i * perProducer + d).padStart(3, '0')}`
      return {
        deviceId,
        key: Buffer.from(deviceId, 'utf8'),
        partition: partitionOf(deviceId, options.partitions),
        seq: 0,
      }
    })
    loops.push(
      (async () => {
        while (running) {
          const messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = []
          for (let n = 0; n < options.recordsPerTxn; n++) {
            const device = devices[n % devices.length] as (typeof devices)[number]
            device.seq++
            messages.push({
              topic: options.recordsTopic,
              partition: device.partition,
              key: device.key,
              value: Buffer.from(recordJson(device.deviceId, device.seq), 'utf8'),
              headers:
                headerKind === 'trace' ? new Map([[traceparentName, Buffer.from(traceparent(device.seq))]]) : undefined,
              timestamp: BigInt(Date.now()),
            })
          }
          for (const device of devices) {
            messages.push({
              topic: options.stateTopic,
              partition: device.partition,
              key: device.key,
              value: Buffer.from(
                JSON.stringify({ v: 1, deviceId: device.deviceId, watermark: device.seq, at: Date.now() }),
                'utf8',
              ),
            })
          }
          const tx = await producer.beginTransaction()
          await tx.send({ messages })
          await tx.commit()
          committed += options.recordsPerTxn
          txns++
        }
      })(),
    )
  }
  let failure: unknown
  const all = Promise.all(loops).catch((error: unknown) => {
    failure = error
    running = false
  })
  await sleep(options.warmupMs)
  const meter = new CpuMeter({ kafka: options.kafkaPid })
  const start = { at: performance.now(), committed, txns }
  meter.start()
  await sleep(options.windowMs)
  const end = { at: performance.now(), committed, txns }
  const cpu = meter.stop()
  running = false
  await all
  await Promise.all(producers.map((p) => p.close().catch(() => {})))
  if (failure) throw failure
  const seconds = (end.at - start.at) / 1000
  return { recordsPerS: (end.committed - start.committed) / seconds, txns: end.txns - start.txns, cpu }
}

export interface VerifyResult {
  ok: boolean
  read: number
  expected: number
  problems: string[]
}

/**
 * Reads the records topic with read_committed and checks, per device, that
 * Kafka holds exactly seqs 1..acked in order: nothing lost, nothing doubled.
 */
export async function verifyExactlyOnce(
  brokers: string[],
  topic: string,
  ackedByDevice: Map<string, number>,
  /** Gives up when no record arrived for this long (the whole read takes ~90 s for 7 million records). */
  stallMs = 30_000,
): Promise<VerifyResult> {
  const expected = [...ackedByDevice.values()].reduce((a, b) => a + b, 0)
  const seen = new Map<string, number>()
  const problems: string[] = []
  let read = 0
  const consumer = new Consumer({
    clientId: 'bench-verify',
    groupId: `bench-verify-${randomUUID()}`,
    bootstrapBrokers: brokers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
    maxBytes: 16 * 1024 * 1024,
  })
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    await new Promise<void>((resolve, reject) => {
      let lastRead = 0
      let lastReadAt = performance.now()
      const deadline = setInterval(() => {
        if (read !== lastRead) {
          lastRead = read
          lastReadAt = performance.now()
        } else if (performance.now() - lastReadAt >= stallMs) {
          problems.push(`read only ${read} of ${expected} records; none came for ${stallMs} ms`)
          clearInterval(deadline)
          resolve()
        }
      }, 1000)
      let idle: NodeJS.Timeout | undefined
      stream.on('data', (message: Message<Buffer, Buffer, Buffer, Buffer>) => {
        read++
        const device = message.key.toString('utf8')
        const seq = Number(/"seq":(\d+)/.exec(message.value.toString('utf8'))?.[1])
        const previous = seen.get(device) ?? 0
        if (seq !== previous + 1 && problems.length < 10) {
          problems.push(`${device}: seq ${seq} after ${previous} at ${message.partition}/${message.offset}`)
        }
        seen.set(device, seq)
        if (headerKind === 'trace' && problems.length < 10) {
          // Header keys are Buffers, which a Map compares by identity.
          let trace: string | undefined
          for (const [name, value] of message.headers) if (traceparentName.equals(name)) trace = value.toString('utf8')
          if (trace !== traceparent(seq)) problems.push(`${device}: seq ${seq} has traceparent ${trace}`)
        }
        if (read >= expected) {
          // Linger so a duplicate beyond the expected count is still seen.
          clearTimeout(idle)
          idle = setTimeout(() => {
            clearInterval(deadline)
            resolve()
          }, 1500)
        }
      })
      stream.on('error', (error) => {
        clearInterval(deadline)
        reject(error)
      })
    })
    await stream.close()
  } finally {
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()))
  }
  for (const [device, acked] of ackedByDevice) {
    const last = seen.get(device) ?? 0
    if (last !== acked && problems.length < 20) problems.push(`${device}: acked through ${acked}, Kafka holds ${last}`)
  }
  for (const device of seen.keys()) {
    if (!ackedByDevice.has(device)) problems.push(`unexpected key ${device} in ${topic}`)
  }
  if (read !== expected) problems.push(`Kafka holds ${read} committed records, devices were acked ${expected}`)
  log(`verify: read ${read} committed records, expected ${expected}; ${problems.length} problems`)
  return { ok: problems.length === 0, read, expected, problems }
}
