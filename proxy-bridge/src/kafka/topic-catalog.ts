import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { Admin } from '@platformatic/kafka'
import { BridgeError } from '../errors.ts'

function errorDetail(error: unknown): unknown {
  if (!(error instanceof Error)) return String(error)
  const nested = (error as Error & { errors?: unknown[] }).errors
  return { message: error.message, nested: nested?.map((e) => (e instanceof Error ? { ...e, message: e.message } : e)) }
}

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
    } catch (error) {
      // Only Kafka saying "no such topic" means missing; anything else is an outage.
      if (!/UNKNOWN_TOPIC|Unknown topic|does not host this topic/i.test(JSON.stringify(errorDetail(error)))) {
        throw new BridgeError(ErrorCodes.KAFKA_UNAVAILABLE, `cannot check topic "${topic}" in Kafka; retry later`, {
          retryable: true,
          retryAfterMs: 1000,
        })
      }
    }
    // Bounded: device-chosen names must not grow this without limit.
    if (this.#missingAt.size > 10_000) this.#missingAt.clear()
    this.#missingAt.set(topic, Date.now())
    return false
  }
}
