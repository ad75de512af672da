const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/

/** Standard, padded base64 (RFC 4648 §4): what both the WebSocket and Confluent's BINARY format accept. */
export function isStandardBase64(value: unknown): value is string {
  return typeof value === 'string' && value.length % 4 === 0 && base64Pattern.test(value)
}
