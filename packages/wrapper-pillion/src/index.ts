export {
  checkMaxFrameSize,
  DEFAULT_MAX_FRAME_SIZE,
  decodeFrames,
  encodeFrame,
  encodeJsonFrames,
  FRAME_HEADER_SIZE,
  FrameBatch,
  FrameDecoder,
  toJson,
} from './codec/frame.js';
export { parseMessage } from './codec/parse-message.js';
export { FrameDecoderStream, FrameEncoderStream, type FrameStreamOptions } from './codec/streams.js';
export {
  CallbackDroppedError,
  InvalidMethodUriError,
  MethodNotFoundError,
  type PillionErrorCode,
  RemoteError,
  ReplyFailedError,
} from './errors.js';
export {
  DEFAULT_CALLBACK_TTL,
  DEFAULT_MAX_PENDING_CALLBACKS,
  DEFAULT_MAX_REMOTE_METHOD_BYTES,
  DEFAULT_MAX_REMOTE_METHODS,
  DEFAULT_MAX_WRITE_BUFFER,
  type PillionOptions,
  type ResolvedPillionOptions,
  resolveOptions,
} from './options.js';
export type { PillionGroup } from './plugin/group.js';
export { type MethodUri, parseMethodUri } from './plugin/method-uri.js';
export { type PillionPlugin, pillion } from './plugin/pillion.js';
export type {
  DiscoverOptions,
  PatternMethodUri,
  PeerResult,
  PillionSidecar,
  Remote,
} from './plugin/sidecar-ext.js';
export { isCallOptions, splitCallArgs } from './protocol/call-args.js';
export { generateId } from './protocol/ids.js';
export type {
  AddMethodMessage,
  CallbackRef,
  CallMessage,
  ErrorMessage,
  MethodAddedMessage,
  MethodRemovedMessage,
  PillionMessage,
  RemoveMethodMessage,
} from './protocol/messages.js';
export type { RemoteFunction } from './protocol/pending.js';
export { type CallOptions, PillionSession, type SessionOptions } from './protocol/session.js';
export { PillionStream } from './stream/pillion-stream.js';
