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
