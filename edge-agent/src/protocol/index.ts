export * from './v1.ts'
export { frameSchemasV1, clientFrameSchemaV1, serverFrameSchemaV1 } from './schema-v1.ts'
export * from './delivery-v1.ts'
