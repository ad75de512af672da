import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

/** Screenshots of every tested state land here (git-ignored). */
export const screenshotsDir = fileURLToPath(new URL('../../test-results/e2e/', import.meta.url))

/** Browser-level network failures: the browser logs them, the page cannot silence them. */
const networkFailure =
  /^(Failed to load resource|WebSocket connection to .* failed|EventSource's response has a status \d+ that is not 200)/

export interface Chromium {
  context: BrowserContext
  page: Page
  /** Console errors and uncaught exceptions so far; every test expects none. */
  errors: string[]
  /** Network failures logged while `expectNetworkFailures` was true: the bridge was down on purpose. */
  expectedFailures: string[]
  expectNetworkFailures: boolean
  screenshot(name: string, options?: { fullPage?: boolean }): Promise<string>
  close(): Promise<void>
}

/**
 * Debian's chromium through playwright-core (never a downloaded browser), headless,
 * with a fresh profile: nothing from an earlier run in IndexedDB.
 */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'kafka-edge-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--no-first-run',
      '--disable-sync',
    ],
  })
  const page = context.pages()[0] ?? (await context.newPage())
  mkdirSync(screenshotsDir, { recursive: true })
  const browser: Chromium = {
    context,
    page,
    errors: [],
    expectedFailures: [],
    expectNetworkFailures: false,
    async screenshot(name, options = {}) {
      const path = join(screenshotsDir, `${name}.png`)
      await page.screenshot({ path, fullPage: options.fullPage ?? true })
      return path
    },
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    const text = message.text()
    if (browser.expectNetworkFailures && networkFailure.test(text)) browser.expectedFailures.push(text)
    else browser.errors.push(`console.error: ${text} (${message.location().url})`)
  })
  page.on('pageerror', (error) => browser.errors.push(`uncaught: ${error.stack ?? error.message}`))
  return browser
}
