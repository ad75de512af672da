import type { Admin } from '@platformatic/kafka'

/**
 * Which topics exist, so a record for an unknown topic is refused with a clear
 * error instead of waiting on Kafka. A miss asks Kafka again, at most once a
 * second per topic name, so a topic created meanwhile is found.
 */
export class TopicCatalog {
  readonly #known = new Set<string>()
  readonly #missingAt = new Map<string, number>()
  readonly #admin: Admin

  constructor(admin: Admin) {
    this.#admin = admin
  }

  async refresh(): Promise<void> {
    for (const topic of await this.#admin.listTopics()) this.#known.add(topic)
  }

  async exists(topic: string): Promise<boolean> {
    if (this.#known.has(topic)) return true
    const checkedAt = this.#missingAt.get(topic)
    if (checkedAt !== undefined && Date.now() - checkedAt < 1000) return false
    try {
      const metadata = await this.#admin.metadata({ topics: [topic], forceUpdate: true, autocreateTopics: false })
      if (metadata.topics.has(topic)) {
        this.#known.add(topic)
        this.#missingAt.delete(topic)
        return true
      }
    } catch {
      // UNKNOWN_TOPIC_OR_PARTITION, or Kafka unreachable: refuse for now.
    }
    // Bounded: device-chosen names must not grow this without limit.
    if (this.#missingAt.size > 10_000) this.#missingAt.clear()
    this.#missingAt.set(topic, Date.now())
    return false
  }
}
