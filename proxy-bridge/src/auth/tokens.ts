import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import { errors as joseErrors, type JWTPayload, jwtVerify } from 'jose'
import { ErrorCodes } from '@kafka-edge/edge-agent/protocol'
import type { AuthConfig } from '../config.ts'
import { BridgeError } from '../errors.ts'

/** What a verified token grants. */
export interface DeviceIdentity {
  deviceId: string
  groups: string[]
  /** Topic names or prefixes ending in `*` the device may produce to (and later subscribe to). */
  topics: string[]
  /** Expiry, ms since the epoch. */
  expiresAt: number
}

const deviceIdPattern = /^[A-Za-z0-9._:@-]{1,128}$/

function stringArray(value: unknown): string[] | undefined {
  if (value === undefined) return []
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined
}

/**
 * Verifies device JWTs with every configured key: HS256 secrets and Ed25519
 * public keys. Claims: sub (device id), groups, topics, exp (required).
 */
export class TokenVerifier {
  readonly #keys: { algorithms: string[]; key: KeyObject }[]
  readonly #config: AuthConfig

  constructor(config: AuthConfig) {
    this.#config = config
    this.#keys = [
      ...config.hs256Secrets.map((s) => ({ algorithms: ['HS256'], key: createSecretKey(Buffer.from(s, 'utf8')) })),
      // "EdDSA" (RFC 8037) and "Ed25519" (RFC 9864) name the same signatures.
      ...config.eddsaPublicKeys.map((pem) => ({ algorithms: ['EdDSA', 'Ed25519'], key: createPublicKey(pem) })),
    ]
  }

  get configured(): boolean {
    return this.#keys.length > 0
  }

  /**
   * The identity behind an `Authorization: Bearer <jwt>` header. `who` names
   * the token to send when the header is missing ("the device token").
   */
  async verifyAuthorization(header: string | undefined, who = 'the device token'): Promise<DeviceIdentity> {
    if (header === undefined) {
      throw new BridgeError(ErrorCodes.AUTH_REQUIRED, `send ${who} as "Authorization: Bearer <jwt>"`)
    }
    const token = bearerToken(header)
    if (!token) throw new BridgeError(ErrorCodes.TOKEN_INVALID, 'the Authorization header must be "Bearer <jwt>"')
    return this.verify(token)
  }

  async verify(token: string): Promise<DeviceIdentity> {
    let payload: JWTPayload | undefined
    let expired = false
    for (const { algorithms, key } of this.#keys) {
      try {
        const result = await jwtVerify(token, key, {
          algorithms,
          clockTolerance: this.#config.clockToleranceSec,
          requiredClaims: ['exp', 'sub'],
          ...(this.#config.issuer ? { issuer: this.#config.issuer } : {}),
          ...(this.#config.audience ? { audience: this.#config.audience } : {}),
        })
        payload = result.payload
        break
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) expired = true
      }
    }
    if (!payload) {
      if (expired)
        throw new BridgeError(ErrorCodes.TOKEN_EXPIRED, 'the token has expired: fetch a new one and reconnect')
      throw new BridgeError(
        ErrorCodes.TOKEN_INVALID,
        'the token is not valid: it must be a JWT signed with a key this bridge trusts (HS256 or EdDSA), with sub and exp claims',
      )
    }
    const deviceId = payload.sub ?? ''
    if (!deviceIdPattern.test(deviceId)) {
      throw new BridgeError(
        ErrorCodes.TOKEN_INVALID,
        `the token's sub "${deviceId}" is not a valid device id (1-128 of A-Z a-z 0-9 . _ : @ -)`,
      )
    }
    const groups = stringArray(payload.groups)
    const topics = stringArray(payload.topics)
    if (!groups || !topics) {
      throw new BridgeError(ErrorCodes.TOKEN_INVALID, "the token's groups and topics claims must be arrays of strings")
    }
    return { deviceId, groups, topics, expiresAt: (payload.exp ?? 0) * 1000 }
  }
}

/** The bearer token of an Authorization header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '')
  return match?.[1]
}
