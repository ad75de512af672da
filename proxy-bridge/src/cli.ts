import { parseArgs } from 'node:util'
import { startBridge } from './bridge.ts'
import { ConfigError, configFromEnv, readConfigFile, resolveConfig, type BridgeConfigInput } from './config.ts'

const help = `Usage: kafka-edge-bridge [options]

Fronts a Kafka cluster for edge devices over WebSocket and REST.

Options:
  -c, --config FILE   JSON config file (see docs/configuration.md)
      --host HOST     listen address (default 127.0.0.1; env BRIDGE_HOST)
      --port PORT     listen port (default 8080, 0 = any free port; env BRIDGE_PORT)
      --brokers LIST  Kafka bootstrap brokers host:port[,host:port] (env KAFKA_BROKERS)
  -h, --help          this text

Precedence: flags over environment over config file over defaults.
Signals: SIGINT/SIGTERM drain in-flight work and close sockets with a reason.
Exit codes: 0 clean shutdown, 1 failure at start, 2 bad usage or configuration.`

async function main(argv: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string' },
        brokers: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${help}`)
    return 2
  }
  if (values.help) {
    console.log(help)
    return 0
  }

  let config
  try {
    const flags: BridgeConfigInput = {}
    if (values.host) flags.host = values.host
    if (values.port) flags.port = Number(values.port)
    if (values.brokers) flags.kafka = { brokers: values.brokers.split(',') }
    config = resolveConfig(values.config ? readConfigFile(values.config) : {}, configFromEnv(process.env), flags)
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message)
      return 2
    }
    throw error
  }

  const bridge = await startBridge(config)
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      void bridge.close(`received ${signal}`).then(resolve)
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
