import { describe, expect, it } from 'vitest'
import { bridgeAuthorization } from './bridge-authorization.ts'

describe('bridgeAuthorization', () => {
  it('gives the token to the bridge origin only, ws:// and http:// alike', () => {
    const headers = bridgeAuthorization('ws://127.0.0.1:5173', () => 't')
    expect(headers('http://127.0.0.1:5173/v1/models/wine/2/files/model.onnx')).toEqual({ authorization: 'Bearer t' })
    expect(headers('http://127.0.0.1:51730/v1/models/wine/2/files/model.onnx')).toEqual({})
    expect(headers('https://127.0.0.1:5173/x')).toEqual({})
    expect(headers('http://cdn.example/model.onnx')).toEqual({})
  })
})
