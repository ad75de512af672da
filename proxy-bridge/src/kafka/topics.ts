import type { Admin } from '@platformatic/kafka'
import type { TopicNames } from '../config.ts'

export interface TopicPlan {
  name: string
  cleanupPolicy: 'delete' | 'compact'
}

/** SPEC's topology: state that must survive forever is compacted, streams are deleted by retention. */
export function topicPlan(topics: TopicNames): TopicPlan[] {
  return [
    { name: topics.records, cleanupPolicy: 'delete' },
    { name: topics.deviceState, cleanupPolicy: 'compact' },
    { name: topics.models, cleanupPolicy: 'compact' },
    { name: topics.modelChunks, cleanupPolicy: 'compact' },
    { name: topics.fleet, cleanupPolicy: 'delete' },
    { name: topics.commands, cleanupPolicy: 'delete' },
    { name: topics.replies, cleanupPolicy: 'delete' },
  ]
}

/** Creates the topics that do not exist yet; returns the names it created. */
export async function ensureTopics(admin: Admin, topics: TopicNames, partitions: number): Promise<string[]> {
  const existing = new Set(await admin.listTopics())
  const created: string[] = []
  for (const plan of topicPlan(topics)) {
    if (existing.has(plan.name)) continue
    try {
      await admin.createTopics({
        topics: [plan.name],
        partitions,
        replicas: 1,
        configs: [{ name: 'cleanup.policy', value: plan.cleanupPolicy }],
      })
      created.push(plan.name)
    } catch (error) {
      // Another bridge may have created it between list and create.
      if (
        !String((error as Error).message).includes('already exists') &&
        !(await admin.listTopics()).includes(plan.name)
      ) {
        throw error
      }
    }
  }
  return created
}
