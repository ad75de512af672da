/**
 * What the core needs from a runtime, as small interfaces. node/ and
 * browser/ implement them; the core imports neither node:* nor DOM globals.
 */

/** An open file being appended to (a resumable download). */
export interface AppendHandle {
  write(chunk: Uint8Array): Promise<void>
  /** Flushes what was written to stable storage. */
  sync(): Promise<void>
  close(): Promise<void>
}

/**
 * Files under one root, addressed by '/'-separated relative paths. Every
 * mutation is durable when its promise resolves.
 */
export interface ModelStore {
  read(path: string): Promise<Uint8Array | undefined>
  /** Atomically replaces `path`: write a temporary, flush it, rename it over, flush the directory. */
  write(path: string, data: Uint8Array): Promise<void>
  size(path: string): Promise<number | undefined>
  /** Opens `path` for appending, creating it (and its folders) if needed. */
  append(path: string): Promise<AppendHandle>
  /** Atomically moves a file or folder over `to` (folders of `to` are created). */
  rename(from: string, to: string): Promise<void>
  /** Names of the direct children of a folder; [] if it does not exist. */
  list(dir: string): Promise<string[]>
  /** Removes a file or a folder with its contents; a missing path is fine. */
  remove(path: string): Promise<void>
}

export interface Crypto {
  /** Lowercase hex SHA-256. */
  sha256(data: Uint8Array): Promise<string>
  /** Ed25519 verification with an SPKI (DER) public key; false on any malformed input. */
  verifyEd25519(spki: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>
}

export interface DownloadResponse {
  /** 206 when the server honoured the Range, 200 when it sends the whole file. */
  status: 200 | 206
  /** Bytes of the whole file when the server said so. */
  totalSize?: number
  etag?: string
  body: AsyncIterable<Uint8Array>
}

export interface Downloader {
  /**
   * GET `url` from byte `offset` (a Range request when offset > 0).
   * Rejects with AgentError E_DOWNLOAD for network failures and non-2xx answers.
   */
  get(url: string, options: { offset: number; signal?: AbortSignal; etag?: string }): Promise<DownloadResponse>
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number
  /** Monotonic milliseconds, for durations. */
  monotonic(): number
}

/** The .wasm of onnxruntime-web and where its JavaScript glue lives, as the runtime provides them. */
export interface OnnxWasmSource {
  /** The .wasm's bytes, where it cannot be fetched; the runtime keeps them for the life of the process. */
  wasmBinary?: Uint8Array
  /** URL of the glue module (ort-wasm-simd-threaded.mjs) and of the .wasm. */
  wasmPaths?: { mjs?: string; wasm?: string } | string
}

export interface EnginePorts {
  /** Threads a WASM session may use. */
  threads: number
  onnxWasm(): Promise<OnnxWasmSource>
}
