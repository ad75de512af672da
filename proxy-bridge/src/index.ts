export { startBridge, type Bridge } from './bridge.ts'
export { resolveConfig, configFromEnv, readConfigFile, defaultConfig, defaultTopics, ConfigError } from './config.ts'
export type { BridgeConfig, BridgeConfigInput, TopicNames } from './config.ts'
export { ensureTopics, topicPlan } from './kafka/topics.ts'
