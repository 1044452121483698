/**
 * Registers the training feed's step and sink with the executor (see exec/extensions.ts).
 * Loaded by the package entry, so every process and worker thread that imports "sirocco"
 * can run `.tokenize()` and `.writeTokenCache()`.
 */
import { registerSink, registerStep } from "../exec/extensions.js";
import { tokenCacheDriver } from "./ledger-writer.js";
import { writeTokenCacheShard } from "./token-cache-sink.js";
import { tokenizeStep } from "./tokenize-step.js";

registerStep("tokenize", tokenizeStep);
registerSink("writeTokenCache", { write: writeTokenCacheShard, driver: tokenCacheDriver });
