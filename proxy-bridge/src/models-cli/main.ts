import { ExitCodes, exitCodeOf } from './cli-support.ts'
import { keygen } from './keygen.ts'
import { publish } from './publish.ts'
import { abort, pause, promote } from './rollout.ts'
import { sign } from './sign.ts'
import { list, status } from './status.ts'

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  keygen,
  sign,
  publish,
  promote,
  pause,
  abort,
  status,
  list,
}

const help = `Usage: kafka-edge-models <command> [options]   (kafka-edge-models <command> --help)

Signed model distribution through Kafka (docs/models.md).

Commands:
  keygen --out DIR [--key-id ID]          new Ed25519 signing key pair
  sign <dir> --key FILE --key-id ID       recompute file sizes/sha256, sign manifest.json
  publish <dir> [--percent N]             verify, upload chunks, start the rollout
  promote <name> <version> --percent N    roll a version out further (100 = stable)
  pause <name> [--reason TEXT]            stop the rollout spreading
  abort <name> [--reason TEXT]            send every device back to stable
  status <name> [--json]                  rollout state, reason and fleet counts
  list [--json]                           every published model

Kafka: --brokers host:port[,...] or KAFKA_BROKERS; --config FILE reads a bridge config.
Exit codes: 0 ok, 1 failure (Kafka unreachable, a concurrent change), 2 bad usage,
3 refused (bad signature, unknown key, missing or changed file, version not newer),
4 not found (unknown model or version).`

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    console.log(help)
    return name ? ExitCodes.OK : ExitCodes.USAGE
  }
  const command = commands[name]
  if (!command) {
    console.error(`kafka-edge-models: unknown command "${name}"\n\n${help}`)
    return ExitCodes.USAGE
  }
  try {
    return await command(rest)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const prefix = typeof code === 'string' && code.startsWith('E_') ? `${code}: ` : ''
    const message = (error as Error).message ?? String(error)
    console.error(`kafka-edge-models ${name}: ${message.startsWith(prefix) ? message : prefix + message}`)
    const exit = exitCodeOf(error)
    if (exit === ExitCodes.USAGE) console.error(`(kafka-edge-models ${name} --help)`)
    return exit
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(ExitCodes.FAILURE)
  },
)
