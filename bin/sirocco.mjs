#!/usr/bin/env node
// The `sirocco` command (compiled engine in dist/; `npm run build` makes it).
await import("../dist/exec/cli.js");
