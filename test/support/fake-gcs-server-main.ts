/**
 * Runs the GCS-JSON-API test server (fake-gcs-server.ts) as its own process, so a benchmark's
 * client and server do not share one event loop: `node --import tsx
 * test/support/fake-gcs-server-main.ts <bucket>…` prints `ENDPOINT http://127.0.0.1:<port>`
 * and serves until killed. Request counts: `GET /_fake/requests`.
 */
import { FakeGcsServer } from "./fake-gcs-server.js";

const gcs = await FakeGcsServer.start();
for (const b of process.argv.slice(2)) gcs.createBucket(b);
console.log(`ENDPOINT ${gcs.endpoint}`);
process.on("SIGTERM", () => void gcs.close().then(() => process.exit(0)));
