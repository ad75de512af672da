/**
 * The browser demo in Debian's Chromium against a real bridge (a child
 * process that the test kills and restarts) and real Kafka: offline
 * predictions, the outbox draining exactly once, a model version hot-swapping
 * in without a reload, and a tampered download never becoming active.
 * Screenshots of each state go to test-results/e2e/.
 */

import { randomUUID } from 'node:crypto'
import { freePort } from '@kafka-edge/dev-kafka'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildDemo } from '../../browser-demo/scripts/build.ts'
import { type DemoServer, startDemoServer } from '../../browser-demo/src/server.ts'
import { bridgeConfig, deviceToken, dropTopics, isolatedTopics } from '../support/bridge.ts'
import { type BridgeProcess, spawnBridge } from '../support/bridge-process.ts'
import { type Chromium, launchChromium } from '../support/chromium.ts'
import { readTopic } from '../support/kafka.ts'
import { cliConfigFile, modelBridgeOverrides, modelCopy, publishModel } from '../support/models.ts'

const topics = isolatedTopics()
const deviceId = `browser-${randomUUID().slice(0, 8)}`
let bridgePort: number
let bridge: BridgeProcess | undefined
let demo: DemoServer
let browser: Chromium

async function startBridge(): Promise<void> {
  bridge = await spawnBridge({ ...bridgeConfig(topics, modelBridgeOverrides()), port: bridgePort })
}

async function stopBridge(): Promise<void> {
  browser.expectNetworkFailures = true
  await bridge?.kill('SIGKILL')
  bridge = undefined
}

const text = (selector: string) => browser.page.locator(selector).innerText()
const number = async (selector: string) => Number(await text(selector))

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Stops the simulated sensor and waits until the outbox is empty and the bridge acked everything. */
async function drained(): Promise<number> {
  await until('the link is online', async () => (await text('#link-state')) === 'online')
  await until('the outbox is empty', async () => (await number('#outbox-depth')) === 0, 60_000)
  return number('#appended')
}

async function deviceRecordsInKafka(expected: number): Promise<number> {
  const messages = await readTopic(topics.records, { expect: expected, readCommitted: true, idleMs: 1500 })
  return messages.filter((m) => m.key?.toString() === deviceId).length
}

beforeAll(async () => {
  bridgePort = await freePort()
  await buildDemo()
  demo = await startDemoServer({
    root: (await import('../../browser-demo/scripts/build.ts')).DEMO_DIST,
    bridgeUrl: `http://127.0.0.1:${bridgePort}`,
  })
  browser = await launchChromium()
}, 120_000)

afterEach(() => {
  expect(browser.errors).toEqual([])
})

afterAll(async () => {
  await browser?.close()
  await bridge?.kill('SIGKILL')
  await demo?.close()
  await dropTopics(topics)
})

describe('browser demo in Chromium', () => {
  it('predicts with the bridge down: the wine form, the vibration sensor, the outbox filling', async () => {
    browser.expectNetworkFailures = true
    const token = await deviceToken(deviceId, { topics: [topics.records] })
    const { page } = browser
    await page.goto(`${demo.url}/#token=${token}&topic=${encodeURIComponent(topics.records)}`)
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 })
    expect(await text('#device-id')).toBe(deviceId)
    expect(await text('#version-wine')).toBe('v1')
    expect(['offline', 'connecting']).toContain(await text('#link-state'))

    // Keyboard only: pick sample B, then submit the form with Enter.
    await page.locator('[data-sample="1"]').focus()
    await page.keyboard.press('Enter')
    await page.locator('#classify').focus()
    await page.keyboard.press('Enter')
    await until('the wine prediction shows', async () => (await text('#wine-result')).includes('class_1'))

    await until('the sensor scored windows', async () => Number((await text('#vib-count')).split(' ')[0]) >= 8)
    expect(Number(await text('#vib-score'))).toBeGreaterThan(0)
    expect(await text('#version-vibration-anomaly')).toBe('v1')
    await until('the outbox holds them', async () => (await number('#outbox-depth')) >= 9)
    expect(await text('#outbox-age')).not.toBe('–')
    await browser.screenshot('01-bridge-down-predicting')
  })

  it('drains the outbox once the bridge is up: every record in Kafka exactly once', async () => {
    await browser.page.locator('#sim-toggle').click()
    expect(await browser.page.locator('#sim-toggle').getAttribute('aria-pressed')).toBe('false')
    await startBridge()
    const appended = await drained()
    browser.expectNetworkFailures = false
    expect(appended).toBeGreaterThanOrEqual(9)
    expect(await deviceRecordsInKafka(appended)).toBe(appended)
    await until(
      'the fleet panel streams this device',
      async () => (await browser.page.locator('#fleet-list li.mine').count()) > 0,
    )
    await browser.screenshot('02-bridge-up-drained')
  })

  it('keeps predicting when the bridge goes away, and drains when it is back', async () => {
    const { page } = browser
    await stopBridge()
    await page.locator('#sim-toggle').click()
    await until('the link is offline', async () => ['offline', 'connecting'].includes(await text('#link-state')))
    const before = await number('#appended')
    await until('the outbox fills again', async () => (await number('#outbox-depth')) >= 8)
    expect(await number('#appended')).toBeGreaterThan(before)
    await browser.screenshot('03-bridge-gone-outbox-filling')
    await page.locator('#sim-toggle').click()
    await startBridge()
    const appended = await drained()
    browser.expectNetworkFailures = false
    expect(await deviceRecordsInKafka(appended)).toBe(appended)
  })

  it('the offline switch holds records back; switched back on, they drain', async () => {
    const { page } = browser
    await page.locator('#offline-switch').check()
    await until('the link stopped', async () => (await text('#link-state')) === 'offline (switch)')
    await page.locator('#classify').click()
    await page.locator('#classify').click()
    await until('two records wait', async () => (await number('#outbox-depth')) === 2)
    await browser.screenshot('04-offline-switch')
    await page.locator('#offline-switch').uncheck()
    const appended = await drained()
    expect(await deviceRecordsInKafka(appended)).toBe(appended)
  })

  it('shows a newly published model version without a reload', async () => {
    const { page } = browser
    await page.evaluate(() => {
      ;(window as unknown as { sameDocument: boolean }).sameDocument = true
    })
    const v2 = modelCopy('wine', (m) => {
      m.version = 2
    })
    await publishModel(v2, cliConfigFile(topics))
    await until(
      'wine v2 is active',
      async () => (await page.locator('#version-wine').getAttribute('data-version')) === '2',
    )
    expect(await text('#model-notice')).toContain('wine v2 is now active (hot-swapped from v1)')
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true)
    await page.locator('#classify').click()
    await until('the prediction names v2', async () => (await text('#wine-result')).includes('wine v2'))
    await until('the fleet panel shows it', async () => (await text('#fleet-list')).includes('wine@2'), 15_000).catch(
      async (e) => {
        console.log(await text('#fleet-list'), await text('#fleet-state'))
        throw e
      },
    )
    await browser.screenshot('05-model-v2-hot-swapped')
  })

  it('never activates a model whose bytes were tampered with on the way', async () => {
    const { page } = browser
    // The bridge serves a good v3; the page receives other bytes, as from a compromised cache.
    await page.route('**/v1/models/wine/3/files/**', async (route) => {
      const response = await route.fetch()
      const body = Buffer.from(await response.body())
      body[body.length - 10] = (body[body.length - 10] ?? 0) ^ 0xff
      await route.fulfill({ response, body })
    })
    const v3 = modelCopy('wine', (m) => {
      m.version = 3
    })
    await publishModel(v3, cliConfigFile(topics))
    await until('the page reports the refusal', async () => (await text('#model-notice')).includes('v3 refused'))
    expect(await text('#model-notice')).toContain('E_SHA256_MISMATCH')
    await new Promise((r) => setTimeout(r, 1000))
    expect(await page.locator('#version-wine').getAttribute('data-version')).toBe('2')
    // The result still reads "wine v2" from before: wait for this click's own answer.
    const count = async () => Number(await page.locator('#wine-result').getAttribute('data-count'))
    const before = await count()
    await page.locator('#classify').click()
    await until('a new prediction shows', async () => (await count()) > before)
    expect(await text('#wine-result')).toContain('wine v2')
    await browser.screenshot('06-tampered-v3-refused')
    await page.setViewportSize({ width: 390, height: 844 })
    await browser.screenshot('07-phone-viewport', { fullPage: false })
  })
})
