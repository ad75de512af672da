import { randomUUID } from 'node:crypto'
import {
  Admin,
  Connection,
  Consumer,
  FetchIsolationLevels,
  listTransactionsV1,
  MessagesStreamModes,
  type Message,
} from '@platformatic/kafka'
import { inject } from 'vitest'

export function brokers(): string[] {
  return inject('kafkaBrokers')
}

/** A topic name no other test file uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}.${randomUUID().slice(0, 8)}`
}

export interface TopicSpec {
  name: string
  partitions?: number
  compact?: boolean
  /** Topic configs, e.g. `{ 'max.message.bytes': '1024' }`. */
  configs?: Record<string, string>
}

export async function createTopics(specs: TopicSpec[]): Promise<void> {
  const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: brokers() })
  try {
    for (const spec of specs) {
      await admin.createTopics({
        topics: [spec.name],
        partitions: spec.partitions ?? 1,
        replicas: 1,
        configs: [
          ...(spec.compact ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
          ...Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
        ],
      })
    }
  } finally {
    await admin.close()
  }
}

export async function deleteTopics(names: string[]): Promise<void> {
  const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: brokers() })
  try {
    await admin.deleteTopics({ topics: names })
  } finally {
    await admin.close()
  }
}

/**
 * Transactional ids with a transaction open right now whose id starts with
 * `prefix`, asked of every broker (each answers for the coordinators it leads).
 */
export async function ongoingTransactions(prefix: string): Promise<string[]> {
  const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: brokers() })
  try {
    const { brokers: all } = await admin.metadata({ topics: [] })
    const ids: string[] = []
    for (const { host, port } of all.values()) {
      const connection = new Connection('test-admin')
      try {
        await connection.connect(host, port)
        // Unfiltered: the client's state names ('ONGOING') are not the broker's ('Ongoing').
        const answer = await listTransactionsV1.api.async(connection, [], [], -1n, null)
        for (const t of answer.transactionStates) {
          if (t.transactionState === 'Ongoing' && t.transactionalId.startsWith(prefix)) ids.push(t.transactionalId)
        }
      } finally {
        await connection.close()
      }
    }
    return ids.sort()
  } finally {
    await admin.close()
  }
}

export interface ReadOptions {
  /** Stop once this many records arrived, or after idleMs without a new one. */
  expect?: number
  /** Stop once this holds for what arrived (e.g. a device's count, on a topic other tests write too). */
  until?: (messages: RawMessage[]) => boolean
  idleMs?: number
  readCommitted?: boolean
  groupId?: string
  /** Another cluster than the shared test broker (a test's own broker). */
  brokers?: string[]
}

export type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>

/** Reads a topic from the earliest offset with a fresh consumer group. */
export async function readTopic(topic: string, options: ReadOptions = {}): Promise<RawMessage[]> {
  const consumer = new Consumer({
    clientId: 'test-reader',
    groupId: options.groupId ?? `test-reader-${randomUUID()}`,
    bootstrapBrokers: options.brokers ?? brokers(),
    isolationLevel:
      options.readCommitted === false ? FetchIsolationLevels.READ_UNCOMMITTED : FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  })
  const messages: RawMessage[] = []
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
    const idleMs = options.idleMs ?? 2000
    await new Promise<void>((resolve, reject) => {
      let timer = setTimeout(resolve, idleMs * 3)
      stream.on('data', (message: RawMessage) => {
        messages.push(message)
        clearTimeout(timer)
        const done = options.until
          ? options.until(messages)
          : options.expect !== undefined && messages.length >= options.expect
        if (done) {
          // Linger briefly so a duplicate beyond the expected count is still seen.
          timer = setTimeout(resolve, Math.min(idleMs, 500))
        } else {
          timer = setTimeout(resolve, idleMs)
        }
      })
      stream.on('error', reject)
    })
    await stream.close()
  } finally {
    await consumer.close(true)
  }
  return messages
}

/** For `until` (one read each): at least `count` records keyed `key` arrived. */
export function keyed(key: string, count: number): (messages: RawMessage[]) => boolean {
  let counted = 0
  let n = 0
  return (messages) => {
    for (; counted < messages.length; counted++) if (messages[counted]?.key?.toString() === key) n++
    return n >= count
  }
}
