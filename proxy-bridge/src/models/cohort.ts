import { createHash } from 'node:crypto'
import type { SignedModelManifest } from '@kafka-edge/models/manifest'
import { manifestOf, type ModelState } from './model-state.ts'

/**
 * A device's stable place in [0, 100) for one model: the first 6 bytes of
 * sha256(model name, NUL, device id). Stable across bridges and restarts; per
 * model, so the same devices are not always the canaries.
 */
export function cohortBucket(deviceId: string, modelName: string): number {
  const digest = createHash('sha256').update(modelName).update('\0').update(deviceId).digest()
  return (digest.readUIntBE(0, 6) / 2 ** 48) * 100
}

export interface DeviceRef {
  deviceId: string
  groups: readonly string[]
}

/** The device is in the rollout's cohort: one of its groups is named, or its bucket is under the percent. */
export function inCohort(
  device: DeviceRef,
  modelName: string,
  rollout: { percent: number; groups: string[] },
): boolean {
  if (rollout.groups.some((g) => device.groups.includes(g))) return true
  return cohortBucket(device.deviceId, modelName) < rollout.percent
}

/**
 * The version this device should run (docs/models.md, "Rollout states"):
 * - rolling: the cohort gets the rollout version, everyone else stable;
 * - paused: the spread stops; devices already running the rollout version
 *   (per their last fleet report) keep it, others get stable;
 * - aborted: everyone gets stable;
 * - complete: everyone gets the rollout version (it is stable too).
 */
export function assignedVersion(
  state: ModelState,
  device: DeviceRef,
  running: (deviceId: string, model: string) => number | undefined,
): number | null {
  const rollout = state.rollout
  const stable = manifestOf(state, state.stable) ? state.stable : null
  if (!rollout || !manifestOf(state, rollout.version)) return stable
  switch (rollout.state) {
    case 'complete':
      return rollout.version
    case 'aborted':
      return stable
    case 'paused':
      return running(device.deviceId, state.name) === rollout.version && inCohort(device, state.name, rollout)
        ? rollout.version
        : stable
    case 'rolling':
      return inCohort(device, state.name, rollout) ? rollout.version : stable
  }
}

export function assignedManifest(
  state: ModelState,
  device: DeviceRef,
  running: (deviceId: string, model: string) => number | undefined,
): SignedModelManifest | undefined {
  return manifestOf(state, assignedVersion(state, device, running))
}
