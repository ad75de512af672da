import type { Admin } from '@platformatic/kafka'

/**
 * Follows the Kafka connection: a periodic metadata request decides whether the
 * bridge is ready. /readyz reads `ready`; nothing on the request path waits for it.
 */
export class KafkaReadiness {
  ready = false
  lastError: string | undefined
  #timer: NodeJS.Timeout | undefined
  readonly #admin: Admin
  readonly #intervalMs: number
  readonly #requiredTopics: string[]

  constructor(admin: Admin, intervalMs: number, requiredTopics: string[]) {
    this.#admin = admin
    this.#intervalMs = intervalMs
    this.#requiredTopics = requiredTopics
  }

  async probe(): Promise<boolean> {
    try {
      const metadata = await this.#admin.metadata({ topics: this.#requiredTopics, forceUpdate: true })
      const missing = this.#requiredTopics.filter((t) => !metadata.topics.has(t))
      this.ready = metadata.brokers.size > 0 && missing.length === 0
      this.lastError = missing.length ? `missing topics: ${missing.join(', ')}` : undefined
    } catch (error) {
      this.ready = false
      this.lastError = (error as Error).message
    }
    return this.ready
  }

  start(): void {
    const tick = async () => {
      await this.probe()
      this.#timer = setTimeout(tick, this.#intervalMs)
      this.#timer.unref()
    }
    void tick()
  }

  stop(): void {
    clearTimeout(this.#timer)
  }
}
