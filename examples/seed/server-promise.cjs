// my-server-app written with this project's pillion (from the same `sidecar` package): the
// original-style client.cjs talks to it unchanged, through sidecar, over burro + pillion 0.0.7.
const { createSidecar, pillion } = require('sidecar');

const app = createSidecar({ name: 'my-server-app', wrappers: [pillion()] });
app.to('*').provide('greet', (name, cb) => cb(`hi there, ${name}`));
app.start().then(
  () => console.log('my-server-app is up'),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
