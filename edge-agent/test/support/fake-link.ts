// The part of a Link that deliveries and model updates use, driven by a test:
// frames go in with deliver(), what the component sends is kept in `sent`.
import { Emitter } from '../../src/core/outbox/emitter.ts'
import type { LinkEvents, SessionClientFrame, SessionServerFrame } from '../../src/core/link/link.ts'

export class FakeLink extends Emitter<LinkEvents> {
  online = true
  sent: SessionClientFrame[] = []
  readonly #handlers = new Map<string, ((frame: never) => void)[]>()

  onFrame(type: string, handler: (frame: never) => void): () => void {
    this.#handlers.set(type, [...(this.#handlers.get(type) ?? []), handler])
    return () =>
      this.#handlers.set(
        type,
        (this.#handlers.get(type) ?? []).filter((h) => h !== handler),
      )
  }

  send(frame: SessionClientFrame): boolean {
    if (this.online) this.sent.push(frame)
    return this.online
  }

  deliver(frame: SessionServerFrame): void {
    for (const h of this.#handlers.get(frame.type) ?? []) h(frame as never)
  }

  welcome(): void {
    this.emit('online', { sessionId: 's', watermark: 0 })
  }
}

/** Lets queued promises and short timers run. */
export const settle = (ms = 10) => new Promise((resolve) => setTimeout(resolve, ms))
