import { parseArgs } from 'node:util'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import { BridgeError } from '../errors.ts'
import { manifestOf, type ModelState, withPromoted, withRolloutState } from '../models/model-state.ts'
import { changeModelState } from '../models/state-writer.ts'
import {
  cliConfig,
  commonHelp,
  commonOptions,
  ExitCodes,
  UsageError,
  unknownModel,
  writerOptions,
} from './cli-support.ts'

export const promoteHelp = `Usage: kafka-edge-models promote <name> <version> --percent N

Rolls <version> out to N % of devices (by a stable hash of device id and
model name), plus devices of the rollout's groups. N = 100 completes the
rollout: the version becomes stable. Promoting resumes a paused rollout.
Exit 4 when the model or version is unknown, 3 for a version older than stable.

${commonHelp}`

export const pauseHelp = `Usage: kafka-edge-models pause <name> [--reason TEXT]

Stops the rollout spreading: devices already running the new version keep
it, every other device stays on stable. Resume with promote.

${commonHelp}`

export const abortHelp = `Usage: kafka-edge-models abort <name> [--reason TEXT]

Aborts the rollout: every device is told to run the stable version again
(devices that activated the new one roll back).

${commonHelp}`

function describe(state: ModelState): string {
  const r = state.rollout
  return `${state.name}: rollout v${r?.version} ${r?.percent} % ${r?.state}${r?.reason ? ` (${r.reason})` : ''}; stable ${state.stable ?? 'none'}`
}

export async function promote(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, percent: { type: 'string' } },
  })
  if (values.help) {
    console.log(promoteHelp)
    return ExitCodes.OK
  }
  const [name, versionText] = positionals
  const version = Number(versionText)
  const percent = Number(values.percent)
  if (!name || positionals.length !== 2 || !Number.isSafeInteger(version)) {
    throw new UsageError('promote takes <name> <version>')
  }
  if (values.percent === undefined || !(percent >= 0 && percent <= 100))
    throw new UsageError('--percent N (0-100) is required')
  const state = await changeModelState(writerOptions(cliConfig(values)), name, async ({ current }) => {
    if (!current) throw unknownModel(name)
    if (!manifestOf(current, version)) {
      throw new BridgeError(
        ErrorCodes.MODEL_UNKNOWN,
        `${name} has no version ${version} (kept: ${Object.keys(current.versions).join(', ')})`,
      )
    }
    if (current.stable !== null && version < current.stable) {
      throw new BridgeError(
        ErrorCodes.MODEL_VERSION_NOT_NEWER,
        `v${version} is older than stable v${current.stable}; devices never downgrade by promotion (abort a rollout instead)`,
      )
    }
    const next = withPromoted(current, version, percent)
    return { state: next, result: next }
  })
  console.log(describe(state))
  return ExitCodes.OK
}

async function setState(argv: string[], next: 'paused' | 'aborted', help: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, reason: { type: 'string' } },
  })
  if (values.help) {
    console.log(help)
    return ExitCodes.OK
  }
  const [name] = positionals
  if (!name || positionals.length !== 1) throw new UsageError(`${next === 'paused' ? 'pause' : 'abort'} takes <name>`)
  const state = await changeModelState(writerOptions(cliConfig(values)), name, async ({ current }) => {
    if (!current) throw unknownModel(name)
    const rollout = current.rollout
    if (!rollout || rollout.state === 'complete' || rollout.state === 'aborted') {
      throw new BridgeError(
        ErrorCodes.BAD_REQUEST,
        `${name} has no rollout in progress (${rollout ? `v${rollout.version} is ${rollout.state}` : 'none'})`,
      )
    }
    const updated = withRolloutState(current, next, values.reason ?? `${next} by operator`)
    return { state: updated, result: updated }
  })
  console.log(describe(state))
  return ExitCodes.OK
}

export const pause = (argv: string[]) => setState(argv, 'paused', pauseHelp)
export const abort = (argv: string[]) => setState(argv, 'aborted', abortHelp)
