/**
 * The IndexedDB ModelStore keeps the contract the core relies on (atomic
 * folder rename, list, remove, append), on fake-indexeddb in Node.
 */

import 'fake-indexeddb/auto'
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
})
