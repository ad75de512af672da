import { Admin } from '@platformatic/kafka'

/** Resolves once a broker answers a metadata request with itself in it: the Kafka protocol, not a sleep. */
export async function brokerAnswers(bootstrap: string[], timeoutMs = 2000): Promise<boolean> {
  const admin = new Admin({
    clientId: 'kafka-edge-readiness',
    bootstrapBrokers: bootstrap,
    connectTimeout: timeoutMs,
    timeout: timeoutMs,
    retries: 0,
  })
  try {
    const metadata = await admin.metadata({ topics: [] })
    return metadata.brokers.size > 0
  } catch {
    return false
  } finally {
    await admin.close().catch(() => {})
  }
}

export async function waitForBroker(
  bootstrap: string[],
  deadlineMs: number,
  stillAlive: () => boolean = () => true,
): Promise<boolean> {
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    if (!stillAlive()) return false
    if (await brokerAnswers(bootstrap, 1000)) return true
    await new Promise((r) => setTimeout(r, 250))
  }
  return false
}
