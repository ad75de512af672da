// Which topics a token opens, for each way in: produce (WebSocket and REST),
// subscribe (deliveries to a device), stream (server-sent events). One list
// of the bridge's own topics, so the three can never disagree about them.
import type { TopicNames } from '../config.ts'
import type { DeviceIdentity } from './tokens.ts'

/** Tokens in this group may send requests to devices and stream any topic that is not the bridge's state. */
export const OPERATORS_GROUP = 'operators'

/** The bridge's own topics: no token's `topics` claim opens them. */
function isBridgeTopic(topic: string, topics: TopicNames): boolean {
  return (
    topic === topics.deviceState ||
    topic === topics.models ||
    topic === topics.modelChunks ||
    topic === topics.fleet ||
    topic === topics.commands ||
    topic === topics.replies
  )
}

/** The token lists the topic, exactly or by a prefix ending in `*` (e.g. "telemetry.*"). */
function tokenLists(identity: DeviceIdentity, topic: string): boolean {
  return identity.topics.some((allowed) =>
    allowed.endsWith('*') ? topic.startsWith(allowed.slice(0, -1)) : allowed === topic,
  )
}

/**
 * A device produces to the records topic and to the topics its token lists,
 * never to a bridge topic: a forged watermark would hide its own records, a
 * forged reply would answer for another device.
 */
export function mayProduce(identity: DeviceIdentity, topic: string, topics: TopicNames): boolean {
  if (topic === topics.records) return true
  return !isBridgeTopic(topic, topics) && tokenLists(identity, topic)
}

/** A device reads its inbox (the commands topic) and the topics its token lists. */
export function maySubscribe(identity: DeviceIdentity, topic: string, topics: TopicNames): boolean {
  if (topic === topics.commands) return true
  return !isBridgeTopic(topic, topics) && tokenLists(identity, topic)
}

/**
 * Whole topics stream to tokens that list them, or to operators, who may also
 * watch the fleet and the commands sent; never the device state, models or
 * replies: they hold other devices' watermarks, model bytes and answers.
 */
export function mayStream(identity: DeviceIdentity, topic: string, topics: TopicNames): boolean {
  if (identity.groups.includes(OPERATORS_GROUP)) {
    return (
      topic !== topics.deviceState &&
      topic !== topics.models &&
      topic !== topics.modelChunks &&
      topic !== topics.replies
    )
  }
  return !isBridgeTopic(topic, topics) && tokenLists(identity, topic)
}
