// Types of the CommonJS entry: the constructor, with every named export as a property.
declare const sidecar: typeof import('../dist/index.js').default &
  Omit<typeof import('../dist/index.js'), 'default'>;
export = sidecar;
