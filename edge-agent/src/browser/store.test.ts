/**
 * The IndexedDB ModelStore keeps the contract the core relies on (atomic
 * folder rename, list, remove, append), on fake-indexeddb in Node.
 */

import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { IndexedDbModelStore } from './store.ts'

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))

describe('IndexedDbModelStore', () => {
  it('writes, appends, renames folders atomically, lists and removes', async () => {
    const store = await IndexedDbModelStore.open(`test-${Math.random()}`)
    await store.write('downloads/wine/2/manifest.json', bytes('{}'))
    const part = await store.append('downloads/wine/2/model.onnx')
    await part.write(bytes('ab'))
    await part.sync()
    await part.write(bytes('cd'))
    await part.close()
    expect(await store.size('downloads/wine/2/model.onnx')).toBe(4)
    expect(await store.list('downloads/wine')).toEqual(['2'])

    await store.rename('downloads/wine/2', 'models/wine/2')
    expect(await store.list('downloads/wine')).toEqual([])
    expect(await store.list('models/wine/2')).toEqual(['manifest.json', 'model.onnx'])
    expect(text(await store.read('models/wine/2/model.onnx'))).toBe('abcd')

    await store.write('state.json', bytes('1'))
    await store.rename('state.json', 'state.old')
    expect(await store.read('state.json')).toBeUndefined()
    expect(text(await store.read('state.old'))).toBe('1')

    await store.remove('models/wine')
    expect(await store.list('models')).toEqual([])
    expect(text(await store.read('state.old'))).toBe('1')
  })

  it('appends each sync as a part, counts parts a crash left, and joins them on close', async () => {
    const name = `test-${Math.random()}`
    const store = await IndexedDbModelStore.open(name)
    const keys = async () => (await openDB(name)).getAllKeys('files')
    const part = await store.append('downloads/m/1/model.onnx')
    for (const chunk of ['ab', 'cd', 'ef']) {
      await part.write(bytes(chunk))
      await part.sync()
    }
    // No close: what a crash mid-download leaves.
    expect(await keys()).toHaveLength(3)
    expect(await store.size('downloads/m/1/model.onnx')).toBe(6)
    expect(text(await store.read('downloads/m/1/model.onnx'))).toBe('abcdef')
    expect(await store.list('downloads/m/1')).toEqual(['model.onnx'])

    await store.rename('downloads/m/1', 'downloads/m/2')
    const resumed = await store.append('downloads/m/2/model.onnx')
    await resumed.write(bytes('gh'))
    await resumed.sync()
    await resumed.write(bytes('ij'))
    await resumed.close()
    expect(await keys()).toEqual(['downloads/m/2/model.onnx'])
    expect(text(await store.read('downloads/m/2/model.onnx'))).toBe('abcdefghij')

    const file = await store.append('single')
    await file.write(bytes('x'))
    await file.sync()
    await file.write(bytes('y'))
    await file.sync()
    await store.rename('single', 'moved')
    expect(text(await store.read('moved'))).toBe('xy')
    await store.remove('moved')
    await store.remove('downloads/m')
    expect(await keys()).toEqual([])
  })
})
