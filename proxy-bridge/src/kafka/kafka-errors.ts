/**
 * Whether Kafka answered with one of these error ids (e.g. PRODUCER_FENCED),
 * anywhere in the client's nested errors: @platformatic/kafka's own lookup,
 * so a message that merely looks alike (FENCED_LEADER_EPOCH) never matches.
 */
export function hasKafkaError(error: unknown, ...apiIds: string[]): boolean {
  const findBy = (error as { findBy?: (key: string, value: unknown) => unknown } | undefined)?.findBy
  if (typeof findBy !== 'function') return false
  return apiIds.some((id) => findBy.call(error, 'apiId', id))
}

/**
 * A client error in one log-friendly line: its message and the distinct
 * Kafka error ids nested in it. The error itself nests every retry's error
 * with its stack, kilobytes per aborted transaction.
 */
export function kafkaErrorSummary(error: unknown): { message: string; kafkaErrors: string[] } {
  const ids = new Set<string>()
  const visit = (e: unknown, depth: number): void => {
    if (!e || typeof e !== 'object' || depth > 8) return
    const apiId = (e as { apiId?: unknown }).apiId
    if (typeof apiId === 'string') ids.add(apiId)
    const nested = (e as { errors?: unknown }).errors
    if (Array.isArray(nested)) for (const n of nested) visit(n, depth + 1)
  }
  visit(error, 0)
  return { message: error instanceof Error ? error.message : String(error), kafkaErrors: [...ids] }
}
