export interface BrokerPorts {
  port: number
  controllerPort: number
}

/**
 * Single-node KRaft settings tuned for a 2-core development machine: internal
 * topics with few partitions (their first use is then fast) and no automatic
 * topic creation, so a typo in a topic name is an error and not a new topic.
 */
export function serverProperties(ports: BrokerPorts, dataDir: string): string {
  const host = '127.0.0.1'
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${ports.controllerPort}`,
    `listeners=PLAINTEXT://${host}:${ports.port},CONTROLLER://${host}:${ports.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${ports.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=24',
    // Kafka leaves writing its logs to disk to the kernel, which here wrote
    // ~30 s of appends (575 MB) in one burst and held the broker's appends
    // for up to 300 ms meanwhile (the ingest benchmark's worst frames). A
    // flush every second keeps the writes small and steady.
    'log.flush.interval.ms=1000',
    'log.flush.scheduler.interval.ms=1000',
    // The log cleaner's dedupe buffer is one heap array of this size, taken
    // when the first compacted topic (edge.device-state) is cleaned. Kafka's
    // 128 MB default sat in the old generation and, under load, set off a G1
    // concurrent cycle every 2-4 s (19-22 in an ingest benchmark run, each
    // with two pauses: 5-33 ms, then a Remark of 3-29 ms). 16 MB holds
    // ~630,000 keys per cleaning pass, far more than the state topic has.
    'log.cleaner.dedupe.buffer.size=16777216',
    '',
  ].join('\n')
}

export function log4jProperties(): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = FILE',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j2 lookup, not a JS template
    'appender.file.fileName = ${sys:kafka.logs.dir}/server.log',
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = FILE',
    'logger.statechange.name = state.change.logger',
    'logger.statechange.level = WARN',
    'logger.controller.name = org.apache.kafka.controller',
    'logger.controller.level = WARN',
    '',
  ].join('\n')
}
