#!/usr/bin/env node
// The `sidecar` command of the umbrella package: the CLI of @sidecar/cli.
await import('@sidecar/cli/bin');
