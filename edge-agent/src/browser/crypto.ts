/// <reference lib="dom" />
/** The Crypto port on WebCrypto (SHA-256; Ed25519 where the browser ships it, Chromium 137+). */

import type { Crypto } from '../core/ports.ts'

/** WebCrypto wants ArrayBuffer-backed views. */
const own = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes)

const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('')

export const webCrypto: Crypto = {
  async sha256(data) {
    return hex(await crypto.subtle.digest('SHA-256', own(data)))
  },
  async verifyEd25519(spki, message, signature) {
    try {
      const key = await crypto.subtle.importKey('spki', own(spki), { name: 'Ed25519' }, false, ['verify'])
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, own(signature), own(message))
    } catch {
      return false
    }
  },
}
