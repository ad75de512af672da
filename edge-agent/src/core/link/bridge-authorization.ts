/**
 * Headers for model downloads: the device token, only for URLs on the
 * bridge's origin (scheme, host and port). A manifest may name other hosts,
 * and a prefix match would hand the token to `host:51730` for `host:5173`.
 */
export function bridgeAuthorization(bridgeUrl: string, token: () => string): (url: string) => Record<string, string> {
  const origin = new URL(bridgeUrl.replace(/^ws/, 'http')).origin
  return (url): Record<string, string> =>
    new URL(url, origin).origin === origin ? { authorization: `Bearer ${token()}` } : {}
}
