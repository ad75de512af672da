/** The value of record n of a test agent: what Kafka must hold, byte for byte. */
export function agentRecordValue(deviceId: string, n: number) {
  return { device: deviceId, n, reading: Math.sin(n), pad: 'x'.repeat(n % 97) }
}
