export { FileOutbox, type FileOutboxOptions } from './file-outbox.ts'
