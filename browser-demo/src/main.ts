/// <reference lib="dom" />
/**
 * The demo page: reads its token from the URL fragment (#token=...&topic=...,
 * never sent to a server), opens the device (device.ts) and binds it to the
 * page. Everything the agent does shows here; nothing waits on the network.
 */

import { ScoreChart } from './chart.ts'
import { type Device, openDevice, VIBRATION, WINE } from './device.ts'
import { describeRecord, type FleetRecord, streamFleet } from './fleet.ts'
import { BearingSimulator } from './vibration.ts'

declare const DEMO_PUBLIC_KEYS: Record<string, string>

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T

function tokenSubject(token: string): string {
  const payload = token.split('.')[1] ?? ''
  const json = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: string }
  if (!json.sub) throw new Error('the token has no sub (device id)')
  return json.sub
}

function age(ms: number): string {
  if (ms <= 0) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.round(ms / 60_000)} min`
}

function notice(text: string, bad = false): void {
  const el = $('model-notice')
  el.textContent = text
  el.classList.toggle('bad', bad)
  el.hidden = false
}

function bindModels(device: Device): void {
  for (const [name, agent] of device.agents) {
    const version = $(`version-${name}`)
    const progress = $<HTMLProgressElement>(`progress-${name}`)
    const show = () => {
      const m = agent.current
      version.textContent = m ? `v${m.version}` : 'no model yet'
      version.dataset.version = String(m?.version ?? '')
    }
    show()
    agent.on('download-progress', (p) => {
      progress.max = p.total || 1
      progress.value = p.received
      progress.title = `v${p.version}: ${p.received} of ${p.total} bytes`
    })
    agent.on('activated', (e) => {
      show()
      progress.value = progress.max
      notice(`${e.name} v${e.version} is now active${e.previous ? ` (hot-swapped from v${e.previous.version})` : ''}`)
    })
    agent.on('rejected', (e) => {
      notice(`${e.name} v${e.version} refused: ${e.code} — v${agent.current?.version ?? '?'} stays active`, true)
    })
    agent.on('download-failed', (e) => notice(`${e.name} v${e.version} download failed: ${e.message}`, true))
    agent.on('rolled-back', (e) => {
      show()
      notice(`${e.name} v${e.version} rolled back to v${e.to.version}: ${e.code}`, true)
    })
  }
}

function bindStatus(device: Device): void {
  const pill = $('link-state')
  const render = () => {
    const state = device.link.state
    const text = state === 'stopped' ? 'offline (switch)' : state
    pill.textContent = text
    pill.className = `pill ${state === 'online' ? 'online' : state === 'connecting' ? 'connecting' : 'offline'}`
    const stats = device.outbox.stats()
    $('outbox-depth').textContent = String(stats.depth)
    $('outbox-age').textContent = age(stats.oldestAgeMs)
    $('acked-seq').textContent = String(stats.ackedSeq)
    $('appended').textContent = String(device.appended())
  }
  device.link.on('state', render)
  device.link.on('ack', render)
  setInterval(render, 500)
  render()
  const offline = $<HTMLInputElement>('offline-switch')
  offline.addEventListener('change', () => {
    device.setOnline(!offline.checked)
    render()
  })
}

function bindWine(device: Device): void {
  const agent = device.agents.get(WINE)
  const manifest = agent?.current
  if (!agent || !manifest) return
  const features = manifest.inputs[0]?.features ?? []
  const units = manifest.inputs[0]?.units ?? []
  const samples = (manifest.golden?.vectors ?? []).map((v) => v.input as Record<string, number>)
  const fields = $('wine-fields')
  features.forEach((feature, i) => {
    const label = document.createElement('label')
    label.textContent = `${feature}${units[i] && units[i] !== '1' ? ` (${units[i]})` : ''}`
    const input = document.createElement('input')
    input.type = 'number'
    input.step = 'any'
    input.required = true
    input.name = feature
    input.value = String(samples[0]?.[feature] ?? 0)
    label.append(input)
    fields.append(label)
  })
  for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('[data-sample]'))) {
    button.addEventListener('click', () => {
      const sample = samples[Number(button.dataset.sample)]
      if (!sample) return
      for (const feature of features) {
        const input = fields.querySelector<HTMLInputElement>(`input[name="${CSS.escape(feature)}"]`)
        if (input) input.value = String(sample[feature] ?? 0)
      }
    })
  }
  const result = $('wine-result')
  $<HTMLFormElement>('wine-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const input: Record<string, number> = {}
    for (const feature of features) {
      input[feature] = Number(fields.querySelector<HTMLInputElement>(`input[name="${CSS.escape(feature)}"]`)?.value)
    }
    try {
      const p = await agent.predict(input)
      const label = Array.isArray(p.outputs.label) ? p.outputs.label[0] : p.outputs.label
      const probabilities = p.outputs.probabilities
      const best =
        probabilities && typeof probabilities === 'object' && !Array.isArray(probabilities)
          ? Math.max(...Object.values(probabilities as Record<string, number>))
          : undefined
      result.textContent = `${String(label)}${best !== undefined ? ` (${(best * 100).toFixed(1)} %)` : ''} — ${p.model.name} v${p.model.version}, ${p.latencyMs.toFixed(1)} ms`
      result.dataset.count = String(Number(result.dataset.count ?? 0) + 1)
    } catch (error) {
      result.textContent = `could not predict: ${(error as Error).message}`
    }
  })
}

function bindVibration(device: Device): void {
  const agent = device.agents.get(VIBRATION)
  if (!agent) return
  const sensor = new BearingSimulator()
  const chart = new ScoreChart($<HTMLCanvasElement>('score-chart'))
  const threshold = () => (agent.current?.outputs[0] as { threshold?: number } | undefined)?.threshold ?? 1.8
  chart.threshold = threshold()
  chart.draw()
  const toggle = $<HTMLButtonElement>('sim-toggle')
  const fault = $<HTMLInputElement>('fault')
  fault.addEventListener('input', () => {
    sensor.fault = Number(fault.value)
  })
  let windows = 0
  let timer: ReturnType<typeof setInterval> | undefined
  let busy = false
  const tick = async () => {
    if (busy || !agent.current) return
    busy = true
    try {
      const p = await agent.predict({ acceleration: Array.from(sensor.next()) })
      const raw = p.outputs.anomaly_score
      const score = Number(Array.isArray(raw) ? raw[0] : raw)
      chart.threshold = threshold()
      chart.push(score)
      windows++
      $('vib-score').textContent = score.toFixed(2)
      $('vib-alarm').hidden = score <= chart.threshold
      $('vib-count').textContent = `${windows} windows`
    } catch (error) {
      $('vib-score').textContent = `error: ${(error as Error).message}`
    } finally {
      busy = false
    }
  }
  const set = (running: boolean) => {
    toggle.setAttribute('aria-pressed', String(running))
    toggle.textContent = running ? 'Stop sensor' : 'Start sensor'
    clearInterval(timer)
    timer = running ? setInterval(() => void tick(), 250) : undefined
  }
  toggle.addEventListener('click', () => set(toggle.getAttribute('aria-pressed') !== 'true'))
  set(new URLSearchParams(location.hash.slice(1)).get('sensor') !== 'off')
}

function bindFleet(device: Device, options: { bridgeUrl: string; token: string; topic: string; deviceId: string }) {
  const list = $('fleet-list')
  const state = $('fleet-state')
  streamFleet({
    ...options,
    onState: (s) => {
      state.textContent = s
      state.className = `pill ${s}`
    },
    onRecord: (record: FleetRecord) => {
      const li = document.createElement('li')
      if (record.key === options.deviceId) li.classList.add('mine')
      const when = document.createElement('span')
      when.className = 'when'
      when.textContent = new Date(record.timestamp).toLocaleTimeString()
      const who = document.createElement('code')
      who.textContent = record.key ?? '(no key)'
      const what = document.createElement('span')
      what.textContent = describeRecord(record)
      li.append(when, who, what)
      list.prepend(li)
      while (list.children.length > 50) list.lastElementChild?.remove()
    },
  })
  void device
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.hash.slice(1))
  const token = params.get('token')
  if (!token) throw new Error('open the URL npm start printed: it carries a dev token after #token=')
  const deviceId = tokenSubject(token)
  $('device-id').textContent = deviceId
  const bridgeUrl = location.origin
  const device = await openDevice({ bridgeUrl, token, deviceId, publicKeys: DEMO_PUBLIC_KEYS })
  bindStatus(device)
  bindModels(device)
  bindWine(device)
  bindVibration(device)
  bindFleet(device, { bridgeUrl, token, deviceId, topic: params.get('topic') ?? 'edge.records' })
  document.body.dataset.ready = 'true'
}

main().catch((error: unknown) => {
  const el = $('setup-error')
  el.textContent = `The demo could not start: ${(error as Error).message}`
  el.hidden = false
})
