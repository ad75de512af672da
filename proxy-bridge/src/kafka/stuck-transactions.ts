import { Admin, Connection, describeTransactionsV0, listTransactionsV0 } from '@platformatic/kafka'

type TransactionStates = Awaited<ReturnType<typeof describeTransactionsV0.api.async>>['transactionStates']

/** The one transaction each id has open (or last had), as its coordinator describes it. */
interface Described {
  state: string
  producerId: bigint
  producerEpoch: number
  startedAt: bigint
  partitions: Map<string, number[]>
}

export interface StuckLookup {
  /** Also every transactional id with this prefix that Kafka lists as ongoing. */
  prefix?: string
  /** How long a transaction must stay the same to count as stuck. */
  settleMs?: number
}

/**
 * Of `ids` (and, with `prefix`, every id of that prefix Kafka lists as
 * ongoing), those whose transaction is open on `topic`/`partition` and has
 * not moved in `settleMs`: what holds back read_committed readers there. A
 * live lane commits every few milliseconds, so between two looks its open
 * transaction (if any) is a new one; a crashed bridge's stays the same until
 * it is fenced or times out. The broker's own start times are compared, so
 * no clock of this host matters. Rejects when Kafka could not be asked.
 */
export async function stuckTransactions(
  brokers: string[],
  clientId: string,
  ids: readonly string[],
  topic: string,
  partition: number,
  { prefix, settleMs = 500 }: StuckLookup = {},
): Promise<string[]> {
  if (ids.length === 0 && prefix === undefined) return []
  const admin = new Admin({ clientId: `${clientId}-describe`, bootstrapBrokers: brokers })
  try {
    const candidates = new Set(ids)
    if (prefix !== undefined) for (const id of await ongoingIds(admin, clientId, prefix)) candidates.add(id)
    if (candidates.size === 0) return []
    const before = await describeTransactions(admin, clientId, [...candidates])
    const open = [...before].filter(([, t]) => isOpenOn(t, topic, partition)).map(([id]) => id)
    if (open.length === 0) return []
    await new Promise((resolve) => setTimeout(resolve, settleMs))
    const after = await describeTransactions(admin, clientId, open)
    return open.filter((id) => {
      const a = before.get(id) as Described
      const b = after.get(id)
      return (
        b !== undefined &&
        isOpenOn(b, topic, partition) &&
        b.producerId === a.producerId &&
        b.producerEpoch === a.producerEpoch &&
        b.startedAt === a.startedAt
      )
    })
  } finally {
    await admin.close()
  }
}

function isOpenOn(t: Described, topic: string, partition: number): boolean {
  return t.state === 'Ongoing' && (t.partitions.get(topic)?.includes(partition) ?? false)
}

/**
 * Each broker answers for the transaction coordinators it leads (and says
 * NOT_COORDINATOR, or lists nothing, for the rest), so each is asked in turn.
 */
async function onEveryBroker(admin: Admin, clientId: string, ask: (connection: Connection) => Promise<void>) {
  const { brokers } = await admin.metadata({ topics: [] })
  for (const { host, port } of brokers.values()) {
    const connection = new Connection(`${clientId}-describe`)
    try {
      await connection.connect(host, port)
      await ask(connection)
    } finally {
      await connection.close()
    }
  }
}

async function describeTransactions(
  admin: Admin,
  clientId: string,
  ids: readonly string[],
): Promise<Map<string, Described>> {
  const out = new Map<string, Described>()
  await onEveryBroker(admin, clientId, async (connection) => {
    for (const t of await describeOn(connection, ids)) {
      if (t.errorCode !== 0) continue
      out.set(t.transactionalId, {
        state: t.transactionState,
        producerId: t.producerId,
        producerEpoch: t.producerEpoch,
        startedAt: t.transactionStartTimeMs,
        partitions: new Map(t.topics.map((x) => [x.topic, x.partitions])),
      })
    }
  })
  return out
}

/**
 * The transactional ids with `prefix` that Kafka lists as ongoing, whoever
 * claimed what: a bridge's own record of recent owners can miss a lane whose
 * claims are old (ListTransactions, KIP-664).
 */
async function ongoingIds(admin: Admin, clientId: string, prefix: string): Promise<string[]> {
  const out: string[] = []
  await onEveryBroker(admin, clientId, async (connection) => {
    // Kafka names the state as it describes it ("Ongoing"); the client's type lists upper case names.
    const filter = ['Ongoing'] as unknown as Parameters<typeof listTransactionsV0.api.async>[1]
    const { transactionStates } = await listTransactionsV0.api.async(connection, filter, [], 0n, null)
    for (const t of transactionStates) if (t.transactionalId.startsWith(prefix)) out.push(t.transactionalId)
  })
  return out
}

/** The answer for every id, also when some ids carry an error (the client throws then, with the answer attached). */
async function describeOn(connection: Connection, ids: readonly string[]): Promise<TransactionStates> {
  try {
    return (await describeTransactionsV0.api.async(connection, [...ids])).transactionStates
  } catch (error) {
    const response = (error as { response?: { transactionStates?: TransactionStates } }).response
    if (response?.transactionStates) return response.transactionStates
    throw error
  }
}
