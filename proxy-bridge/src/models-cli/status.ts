import { parseArgs } from 'node:util'
import { manifestOf } from '../models/model-state.ts'
import {
  cliConfig,
  commonHelp,
  commonOptions,
  ExitCodes,
  readFleet,
  readStates,
  UsageError,
  unknownModel,
} from './cli-support.ts'

export const statusHelp = `Usage: kafka-edge-models status <name> [--json]

The model's rollout (version, percent, state and why), its stable version,
the versions kept, the abort criteria, and fleet counts from edge.fleet: the
latest report of each device, counted per version and state.
Exit 4 when the model is unknown.

${commonHelp}`

export const listHelp = `Usage: kafka-edge-models list [--json]

Every model on edge.models with its newest, stable and rolling versions.

${commonHelp}`

export async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, json: { type: 'boolean' } },
  })
  if (values.help) {
    console.log(statusHelp)
    return ExitCodes.OK
  }
  const [name] = positionals
  if (!name || positionals.length !== 1) throw new UsageError('status takes <name>')
  const config = cliConfig(values)
  const [states, fleet] = await Promise.all([readStates(config), readFleet(config)])
  const state = states.get(name)
  if (!state) throw unknownModel(name)
  const summary = fleet.counts.summary(name)
  const rollout = state.rollout
  const abort = (rollout && manifestOf(state, rollout.version)?.rollout?.abort) ?? config.models.abort
  const report = {
    name,
    latest: state.latest,
    stable: state.stable,
    versions: Object.keys(state.versions).map(Number),
    rollout,
    abort,
    devices: summary.devices,
    counts: summary.versions,
  }
  if (values.json) {
    console.log(JSON.stringify(report))
    return ExitCodes.OK
  }
  const lines = [
    `model    ${name} (newest v${state.latest}, stable ${state.stable === null ? 'none' : `v${state.stable}`}, kept ${report.versions.map((v) => `v${v}`).join(' ')})`,
    rollout
      ? `rollout  v${rollout.version} ${rollout.percent} %${rollout.groups.length ? ` + groups ${rollout.groups.join(',')}` : ''} ${rollout.state.toUpperCase()}${rollout.reason ? ` — ${rollout.reason}` : ''} (since ${new Date(rollout.updatedAt).toISOString()})`
      : 'rollout  none',
    `abort    when > ${Math.round(abort.failureRatio * 100)} % of at least ${abort.minDevices} devices reject or roll back`,
    `devices  ${summary.devices} reporting`,
  ]
  for (const [version, counts] of Object.entries(summary.versions).sort(([a], [b]) => Number(b) - Number(a))) {
    lines.push(
      `  v${version.padEnd(6)} activated ${counts.activated}  rejected ${counts.rejected}  rolled-back ${counts['rolled-back']}`,
    )
  }
  console.log(lines.join('\n'))
  return ExitCodes.OK
}

export async function list(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...commonOptions, json: { type: 'boolean' } },
  })
  if (values.help) {
    console.log(listHelp)
    return ExitCodes.OK
  }
  if (positionals.length > 0) throw new UsageError('list takes no arguments')
  const states = [...(await readStates(cliConfig(values))).values()].sort((a, b) => (a.name < b.name ? -1 : 1))
  const rows = states.map((s) => ({
    name: s.name,
    latest: s.latest,
    stable: s.stable,
    rollout: s.rollout ? { version: s.rollout.version, percent: s.rollout.percent, state: s.rollout.state } : null,
  }))
  if (values.json) {
    console.log(JSON.stringify({ models: rows }))
    return ExitCodes.OK
  }
  if (rows.length === 0) console.log('no models published')
  for (const r of rows) {
    const rollout = r.rollout ? `v${r.rollout.version} ${r.rollout.percent} % ${r.rollout.state}` : 'none'
    console.log(
      `${r.name.padEnd(24)} newest v${r.latest}  stable ${r.stable === null ? '-' : `v${r.stable}`}  rollout ${rollout}`,
    )
  }
  return ExitCodes.OK
}
