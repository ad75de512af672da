/** The Crypto port on node:crypto (SHA-256 and Ed25519, the same primitives WebCrypto offers in browsers). */

import { createHash, createPublicKey, verify } from 'node:crypto'
import type { Crypto } from '../core/ports.ts'

export const nodeCrypto: Crypto = {
  async sha256(data) {
    return createHash('sha256').update(data).digest('hex')
  },
  async verifyEd25519(spki, message, signature) {
    try {
      const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
      return verify(null, message, key, signature)
    } catch {
      return false
    }
  },
}
