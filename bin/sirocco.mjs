#!/usr/bin/env node
// The `sirocco` command. Installs tsx's hooks so pipeline scripts may be TypeScript, then
// hands over to the CLI (src/exec/cli.ts).
import { register } from "tsx/esm/api";

register();
await import("../src/exec/cli.ts");
