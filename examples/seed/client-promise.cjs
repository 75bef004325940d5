// The same server called with this project's pillion (promises) from the same `sidecar` package.
const { createSidecar, pillion } = require('sidecar');

const who = process.argv[2] || 'bob';
const app = createSidecar({ name: 'greet-promise-client', wrappers: [pillion()], register: false });
app
  .start()
  .then(async () => {
    console.log(await app.to('my-server-app').call('greet', who, { timeout: 5000 }));
    await app.stop();
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
