import { Admin } from '@platformatic/kafka'

/**
 * The Kafka cluster id Confluent's v3 paths name (`/v3/clusters/{cluster_id}`),
 * as Kafka's metadata reports it. Asked once; a failure is retried on the next request.
 */
export class ClusterId {
  readonly #brokers: string[]
  readonly #clientId: string
  #id: Promise<string> | undefined

  constructor(brokers: string[], clientId: string) {
    this.#brokers = brokers
    this.#clientId = clientId
  }

  get(): Promise<string> {
    this.#id ??= this.#fetch().catch((error: unknown) => {
      this.#id = undefined
      throw error
    })
    return this.#id
  }

  async #fetch(): Promise<string> {
    const admin = new Admin({ clientId: `${this.#clientId}-rest`, bootstrapBrokers: this.#brokers })
    try {
      const metadata = await admin.metadata({ topics: [] })
      return metadata.id
    } finally {
      await admin.close().catch(() => {})
    }
  }
}
