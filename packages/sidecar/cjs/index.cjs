'use strict';
// CommonJS entry of `sidecar`: `require('sidecar')` is the original API's constructor itself,
// carrying the named exports (createSidecar, pillion, ...) as properties. Node >= 20.19 loads
// the ES module graph synchronously (require(esm)); it has no top-level await.
const exports_ = require('../dist/index.js');
const OriginalSidecar = exports_.default;
for (const key of Object.keys(exports_)) {
  if (key !== 'default' && !Object.hasOwn(OriginalSidecar, key)) {
    Object.defineProperty(OriginalSidecar, key, { value: exports_[key], enumerable: true });
  }
}
module.exports = OriginalSidecar;
