import type { PassThrough } from 'node:stream'
import { errorBody } from './reports.ts'
import { asBridgeError } from '../errors.ts'
import type { RestRequestWriter } from './request-writer.ts'

/**
 * Writes reports to the response in order, each as soon as it and all
 * before it are done; at most `maxOutstanding` are outstanding, so a client
 * that streams faster than Kafka commits is slowed down, not buffered.
 */
export async function pumpReports(
  out: PassThrough,
  writer: RestRequestWriter,
  maxOutstanding: number,
  produce: (emit: (report: Promise<object>, last?: boolean) => Promise<void>, stopped: () => boolean) => Promise<void>,
): Promise<void> {
  let stopped = false
  let outstanding = 0
  let chain = Promise.resolve()
  const emit = async (report: Promise<object>, last = false): Promise<void> => {
    if (stopped) return
    if (last) stopped = true
    outstanding++
    chain = chain.then(async () => {
      const line = `${JSON.stringify(await report)}\n`
      outstanding--
      if (out.destroyed) return
      if (!out.write(line)) {
        await new Promise((resolve) => {
          out.once('drain', resolve)
          out.once('close', resolve)
        })
      }
    })
    if (outstanding >= maxOutstanding) await chain
  }
  try {
    await produce(emit, () => stopped)
  } catch (error) {
    await emit(Promise.resolve(errorBody(asBridgeError(error))), true)
  } finally {
    await chain.catch(() => {})
    await writer.close()
    out.end()
  }
}
