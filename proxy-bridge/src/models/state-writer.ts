import { type MessageToProduce, ProduceAcks, Producer } from '@platformatic/kafka'
import { encodeModelState, type ModelState } from './model-state.ts'

export type ChunkMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

export interface StateWriterOptions {
  brokers: string[]
  clientId: string
  modelsTopic: string
  /** Reads the model's state as Kafka holds it once every earlier transaction is settled. */
  read(name: string): Promise<ModelState | undefined>
}

export interface ModelTransaction {
  /** The state before this change, read after every earlier writer was fenced. */
  current: ModelState | undefined
  /** Sends records inside the transaction (chunks): they become visible with the state, or never. */
  send(messages: ChunkMessage[]): Promise<void>
}

/** Another writer of the same model committed in between: this change was not applied. */
export class ConcurrentUpdateError extends Error {
  readonly code = 'E_CONCURRENT_UPDATE'
}

/**
 * Changes one model's state as a compare-and-set: the transactional id
 * `kafka-edge-models-<models topic>-<name>` is shared by every publisher, CLI
 * and bridge of one deployment (its models topic), so
 * initialising it fences whoever held it before and settles their open
 * transaction; the state read afterwards is the newest, and if someone else
 * initialises it before we commit, our commit fails instead of overwriting
 * their change. `work` returns the new state, or undefined to change nothing.
 */
export async function changeModelState<T>(
  options: StateWriterOptions,
  name: string,
  work: (tx: ModelTransaction) => Promise<{ state: ModelState | undefined; result: T }>,
): Promise<T> {
  const producer = new Producer({
    clientId: `${options.clientId}-models-writer`,
    bootstrapBrokers: options.brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    transactionalId: `kafka-edge-models-${options.modelsTopic}-${name}`,
    // See DeviceWriter: -1/-1 asks for a fresh producer id, fencing earlier holders.
    producerId: -1n,
    producerEpoch: -1,
    timeout: 120_000,
    retries: 3,
    retryDelay: 200,
  })
  try {
    const tx = await producer.beginTransaction()
    let outcome: { state: ModelState | undefined; result: T }
    try {
      const current = await options.read(name)
      outcome = await work({
        current,
        send: async (messages) => {
          await tx.send({ messages })
        },
      })
      if (!outcome.state) {
        await tx.abort()
        return outcome.result
      }
      await tx.send({
        messages: [{ topic: options.modelsTopic, key: Buffer.from(name), value: encodeModelState(outcome.state) }],
      })
    } catch (error) {
      await tx.abort().catch(() => {})
      throw error
    }
    try {
      await tx.commit()
    } catch (error) {
      throw new ConcurrentUpdateError(
        `another writer changed model ${name} meanwhile (${(error as Error).message}); read its state and retry`,
      )
    }
    return outcome.result
  } finally {
    await producer.close().catch(() => {})
  }
}
