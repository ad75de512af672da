import { DeviceWriter, type DeviceWriterOptions } from './device-writer.ts'

interface Entry {
  writer: DeviceWriter
  users: number
  idleTimer: NodeJS.Timeout | undefined
}

/**
 * The device writers of this bridge, one per device with a session or a REST
 * call in progress. A writer outlives its session for `idleMs` so a quick
 * reconnect does not pay for a new claim; a failed writer is replaced.
 */
export class DeviceWriters {
  readonly #entries = new Map<string, Entry>()
  readonly #options: DeviceWriterOptions
  readonly #idleMs: number

  constructor(options: DeviceWriterOptions, idleMs: number) {
    this.#options = options
    this.#idleMs = idleMs
  }

  /** The device's writer, for use until `release`. */
  acquire(deviceId: string): DeviceWriter {
    let entry = this.#entries.get(deviceId)
    if (entry?.writer.failure) {
      this.#drop(deviceId, entry)
      entry = undefined
    }
    if (!entry) {
      entry = { writer: new DeviceWriter(deviceId, this.#options), users: 0, idleTimer: undefined }
      this.#entries.set(deviceId, entry)
    }
    clearTimeout(entry.idleTimer)
    entry.idleTimer = undefined
    entry.users++
    return entry.writer
  }

  /** The device's writer if this bridge has one (it may be idle). */
  peek(deviceId: string): DeviceWriter | undefined {
    const entry = this.#entries.get(deviceId)
    return entry && !entry.writer.failure ? entry.writer : undefined
  }

  release(writer: DeviceWriter): void {
    const entry = this.#entries.get(writer.deviceId)
    if (!entry || entry.writer !== writer) {
      void writer.close()
      return
    }
    entry.users--
    if (entry.users > 0) return
    if (writer.failure) {
      this.#drop(writer.deviceId, entry)
      return
    }
    entry.idleTimer = setTimeout(() => this.#drop(writer.deviceId, entry), this.#idleMs)
    entry.idleTimer.unref()
  }

  #drop(deviceId: string, entry: Entry): void {
    clearTimeout(entry.idleTimer)
    if (this.#entries.get(deviceId) === entry) this.#entries.delete(deviceId)
    void entry.writer.close()
  }

  /** Resolves when no writer has a transaction queued or in flight (REST writes included). */
  async idle(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.writer.idle()))
  }

  /** Waits for every in-flight transaction, then closes all producers. */
  async close(): Promise<void> {
    const entries = [...this.#entries.entries()]
    this.#entries.clear()
    await Promise.all(
      entries.map(async ([, entry]) => {
        clearTimeout(entry.idleTimer)
        await entry.writer.close()
      }),
    )
  }
}
