import type { Admin } from '@platformatic/kafka'

/**
 * Which topics exist, so a record for an unknown topic is refused with a clear
 * error instead of waiting on Kafka. A miss refreshes the list, at most once a second.
 */
export class TopicCatalog {
  #topics = new Set<string>()
  #refreshedAt = 0
  #refreshing: Promise<void> | undefined
  readonly #admin: Admin

  constructor(admin: Admin) {
    this.#admin = admin
  }

  refresh(): Promise<void> {
    this.#refreshing ??= this.#admin
      .listTopics()
      .then((topics) => {
        this.#topics = new Set(topics)
        this.#refreshedAt = Date.now()
      })
      .finally(() => {
        this.#refreshing = undefined
      })
    return this.#refreshing
  }

  async exists(topic: string): Promise<boolean> {
    if (this.#topics.has(topic)) return true
    if (Date.now() - this.#refreshedAt > 1000) await this.refresh().catch(() => {})
    return this.#topics.has(topic)
  }
}
