import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { KafkaLauncherError } from './errors.ts'
import { externalBrokers, logFileOf, readState, runningBroker, startBroker, stopBroker } from './index.ts'
import { KAFKA_VERSION } from './paths.ts'

const help = `Usage: npm run kafka -- <command> [options]

Manages a single-node Apache Kafka ${KAFKA_VERSION} (KRaft) for development.
Jars come from Maven Central once, into .cache/kafka (git-ignored).

Commands:
  start     start the broker in the background, or reuse the one already running
  stop      stop the broker this project started
  status    print whether it runs and where (exit 0 when it answers, 3 when not)
  logs      print the broker's log (--lines N, default 100)

Options:
  --name NAME    instance name (default "default"); each has its own data and logs
  --port PORT    broker port for start (default 9092; 0 picks a free port)
  --fresh        delete the instance's data before start
  --lines N      lines of log to print
  -h, --help     this text

With KAFKA_BROKERS=host:port set, everything in kafka-edge uses that cluster and
this command is not needed.

Exit codes: 0 ok, 1 failure (message says why), 2 usage error, 3 not running.`

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string', default: 'default' },
        port: { type: 'string', default: '9092' },
        fresh: { type: 'boolean', default: false },
        lines: { type: 'string', default: '100' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${help}`)
    return 2
  }
  const { values, positionals } = parsed
  const command = positionals[0]
  if (values.help || !command) {
    console.log(help)
    return command || values.help ? 0 : 2
  }
  const name = values.name
  const log = (line: string) => console.log(line)

  switch (command) {
    case 'start': {
      const external = externalBrokers()
      if (external)
        log(`note: KAFKA_BROKERS=${external.join(',')} is set; kafka-edge will use that cluster, not this one`)
      const broker = await startBroker({ name, port: Number(values.port), detached: true, fresh: values.fresh, log })
      console.log(`KAFKA_BROKERS=${broker.bootstrap}`)
      return 0
    }
    case 'stop': {
      const stopped = await stopBroker(name)
      log(stopped ? `stopped Kafka instance "${name}"` : `Kafka instance "${name}" was not running`)
      return 0
    }
    case 'status': {
      const state = await runningBroker(name)
      if (!state) {
        log(`Kafka instance "${name}": not running`)
        return 3
      }
      log(`Kafka instance "${name}": running at ${state.bootstrap} (pid ${state.pid}, since ${state.startedAt})`)
      return 0
    }
    case 'logs': {
      const file = logFileOf(name)
      if (!existsSync(file)) {
        log(`no log yet for instance "${name}" (${file})`)
        return readState(name) ? 0 : 3
      }
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
      console.log(lines.slice(-Number(values.lines)).join('\n'))
      return 0
    }
    default:
      console.error(`unknown command "${command}"\n\n${help}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof KafkaLauncherError ? error.message : error)
    process.exit(1)
  },
)
