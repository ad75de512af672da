/**
 * Builds tiny ONNX models from bytes (hand-written protobuf), for tests
 * that need a real model with a particular behaviour: y = Sqrt(x) returns
 * NaN for negative inputs while its golden vectors (x >= 0) pass.
 */

function varint(n: number): number[] {
  const out: number[] = []
  let v = n
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}

const text = (s: string) => [...new TextEncoder().encode(s)]
const field = (n: number, bytes: number[]) => [...varint((n << 3) | 2), ...varint(bytes.length), ...bytes]
const int = (n: number, v: number) => [...varint(n << 3), ...varint(v)]

function valueInfo(name: string): number[] {
  const shape = [...field(1, field(2, text('batch'))), ...field(1, int(1, 1))]
  const tensorType = [...int(1, 1 /* FLOAT */), ...field(2, shape)]
  return [...field(1, text(name)), ...field(2, field(1, tensorType))]
}

/** One-node model `output = op(input)` with float inputs and outputs of shape [batch, 1]. */
export function unaryModel(op: string, input = 'x', output = 'y'): Uint8Array {
  const node = [...field(1, text(input)), ...field(2, text(output)), ...field(3, text('n0')), ...field(4, text(op))]
  const graph = [
    ...field(1, node),
    ...field(2, text('g')),
    ...field(11, valueInfo(input)),
    ...field(12, valueInfo(output)),
  ]
  const opset = [...field(1, []), ...int(2, 13)]
  return Uint8Array.from([...int(1, 8), ...field(2, text('kafka-edge-test')), ...field(7, graph), ...field(8, opset)])
}
