import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { SiroccoError } from "../core/errors.js";
import { DEFAULTS_ENV, parseBytes, type RunOptions } from "../core/options.js";
import { checkQueueName, parseRedisUrl } from "../core/redis-url.js";
import { ENTRY_ENV } from "./run.js";
import { runtime } from "./runtime.js";
import { prepareScript } from "./script-loader.js";

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

function redisUrl(v: string): string {
  try {
    parseRedisUrl(v, "--redis");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
}

function queueName(v: string): string {
  try {
    return checkQueueName(v, "--queue");
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function bytes(v: string): string {
  try {
    parseBytes(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return v;
}

/** Prints an error with its cause chain (the user's stack last) and exits non-zero. */
function fail(e: unknown): never {
  const lines: string[] = [];
  let cur: unknown = e;
  let depth = 0;
  let said = "";
  while (cur !== undefined && depth < 8) {
    if (cur instanceof Error) {
      const head = depth === 0 ? "error" : "caused by";
      // A TaskError's message already quotes its cause; say only what is new.
      if (!said.includes(cur.message)) lines.push(`${head}: ${cur.name}: ${cur.message}`);
      else lines.push(`${head}: ${cur.name} (above)`);
      said += cur.message;
      const frames = (cur.stack ?? "").split("\n").slice(1).filter((l) => l.trim().startsWith("at "));
      if (!(cur instanceof SiroccoError) || process.env.SIROCCO_DEBUG) lines.push(...frames.slice(0, 8));
      cur = cur.cause;
    } else {
      lines.push(`${depth === 0 ? "error" : "caused by"}: ${String(cur)}`);
      cur = undefined;
    }
    depth++;
  }
  process.stderr.write(`${lines.join("\n")}\n`);
  process.exit(1);
}

/** Imports the script as the main module would be: argv is [node, script, ...its own arguments]. */
async function importScript(script: string, scriptArgs: string[]): Promise<void> {
  const file = path.resolve(script);
  if (!fs.existsSync(file)) throw new SiroccoError(`script ${script} not found (looked for ${file})`);
  const prepared = await prepareScript(file);
  process.env[ENTRY_ENV] = prepared.entry;
  process.argv = [process.argv[0]!, file, ...scriptArgs];
  await import(pathToFileURL(prepared.entry).href);
}

const program = new Command()
  .name("sirocco")
  .description("Run and inspect sirocco pipelines")
  .showHelpAfterError();

program
  .command("run")
  .description("run a pipeline script; the flags become the defaults of every run() it makes")
  .argument("<script>", "pipeline script (.ts or .js)")
  .addOption(new Option("--executor <name>", "where tasks run").choices(["inline", "threads", "redis"]))
  .option("--workers <n>", "worker threads (default: one per core)", positiveInt)
  .option("--memory <size>", "memory budget per task, e.g. 2GB", bytes)
  .option("--scratch <dir>", "scratch space for spills (default: a temp dir)")
  .option("--resume", "skip shards whose outputs already exist")
  .addOption(new Option("--progress <mode>", "progress display").choices(["auto", "bar", "log", "none"]))
  .option("--redis <url>", "Redis of the redis executor: redis://[user:pass@]host:port[/db] or rediss://", redisUrl)
  .option("--queue <name>", 'queue of the redis executor (default "sirocco"; private to the run with --autoscale local)', queueName)
  .addOption(new Option("--autoscale <mode>", "redis executor: start and retire worker processes on this machine (at most --workers)").choices(["off", "local"]))
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .action(async (script: string, flags: RunOptions, cmd: Command) => {
    const defaults: RunOptions = {
      executor: flags.executor,
      workers: flags.workers,
      memory: flags.memory,
      scratch: flags.scratch,
      resume: flags.resume,
      progress: flags.progress,
      redis: flags.redis,
      queue: flags.queue,
      autoscale: flags.autoscale,
    };
    process.env[DEFAULTS_ENV] = JSON.stringify(defaults);
    try {
      await importScript(script, cmd.args.slice(1));
    } catch (e) {
      fail(e);
    }
  });

program
  .command("worker")
  .description("serve the redis executor's queue: run the tasks of every run of <script> that drivers enqueue")
  .argument("<script>", "the pipeline script the driver runs (.ts or .js)")
  .requiredOption("--redis <url>", "redis://[user:pass@]host:port[/db] or rediss://", redisUrl)
  .option("--queue <name>", "queue to serve", queueName, "sirocco")
  .option("--concurrency <n>", "tasks at once, on worker threads (default: one per core)", positiveInt)
  .option("--lock-ms <ms>", "a task whose worker stops renewing its lock this long counts as stalled (default 15000)", positiveInt)
  .option("--stalled-interval-ms <ms>", "how often to look for stalled tasks (default 5000)", positiveInt)
  .option("--elastic", "grow and shrink the threads (1 … concurrency) with the queue instead of starting them all")
  .action(async (script: string, flags: { redis: string; queue: string; concurrency?: number; lockMs?: number; stalledIntervalMs?: number; elastic?: boolean }) => {
    try {
      const file = path.resolve(script);
      if (!fs.existsSync(file)) throw new SiroccoError(`script ${script} not found (looked for ${file})`);
      const { runRedisWorker } = await import("./redis-worker.js");
      await runRedisWorker({
        script: file,
        address: parseRedisUrl(flags.redis, "--redis"),
        queue: flags.queue,
        concurrency: flags.concurrency,
        lockMs: flags.lockMs ?? envMs("SIROCCO_WORKER_LOCK_MS"),
        stalledIntervalMs: flags.stalledIntervalMs ?? envMs("SIROCCO_WORKER_STALLED_INTERVAL_MS"),
        elastic: flags.elastic,
      });
      process.exit(0);
    } catch (e) {
      fail(e);
    }
  });

program
  .command("autoscale")
  .description("scale a Kubernetes Deployment of `sirocco worker` pods with the queue (the same policy as --autoscale local)")
  .requiredOption("--redis <url>", "redis://[user:pass@]host:port[/db] or rediss://", redisUrl)
  .option("--queue <name>", "queue the workers serve", queueName, "sirocco")
  .requiredOption("--deployment <name>", "the Deployment to scale")
  .option("--namespace <ns>", "its namespace (default: the kube context's, else default)")
  .option("--min <n>", "fewest workers (default 0)", (v) => (v === "0" ? 0 : positiveInt(v)), 0)
  .requiredOption("--max <n>", "most workers", positiveInt)
  .option("--tasks-per-worker <n>", "each worker's --concurrency (default 1)", positiveInt, 1)
  .option("--target-drain-ms <ms>", "aim to finish the outstanding tasks within this time (default 30000)", positiveInt, 30_000)
  .option("--up-cooldown-ms <ms>", "after a change, wait this long before growing (default 2000)", positiveInt, 2_000)
  .option("--down-cooldown-ms <ms>", "after a change, wait this long before shrinking (default 30000)", positiveInt, 30_000)
  .option("--interval-ms <ms>", "decide this often (default 5000)", positiveInt, 5_000)
  .action(async (f: { redis: string; queue: string; deployment: string; namespace?: string; min: number; max: number; tasksPerWorker: number; targetDrainMs: number; upCooldownMs: number; downCooldownMs: number; intervalMs: number }) => {
    try {
      const [{ Redis }, { Autoscaler }, { checkPolicyOptions }, { KubernetesDeploymentActuator }, { readQueueSnapshot }] = await Promise.all([
        import("ioredis"),
        import("../autoscale/autoscaler.js"),
        import("../autoscale/policy.js"),
        import("../autoscale/kubernetes.js"),
        import("./redis-protocol.js"),
      ]);
      const policy = checkPolicyOptions({ minWorkers: f.min, maxWorkers: f.max, tasksPerWorker: f.tasksPerWorker, targetDrainMs: f.targetDrainMs, scaleUpCooldownMs: f.upCooldownMs, scaleDownCooldownMs: f.downCooldownMs });
      const conn = new Redis(parseRedisUrl(f.redis, "--redis").url, { maxRetriesPerRequest: null });
      conn.on("error", () => {});
      const actuator = new KubernetesDeploymentActuator({ deployment: f.deployment, namespace: f.namespace });
      const scaler = new Autoscaler(actuator, () => readQueueSnapshot(conn, f.queue), policy, {
        intervalMs: f.intervalMs,
        onError: (e) => process.stderr.write(`sirocco autoscale: ${(e as Error).message}\n`),
        onDecision: (d) => process.stderr.write(`${JSON.stringify({ msg: "scale", deployment: f.deployment, ...d })}\n`),
      });
      scaler.start();
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", resolve);
        process.once("SIGINT", resolve);
      });
      await scaler.stop();
      conn.disconnect();
    } catch (e) {
      fail(e);
    }
  });

function envMs(name: string): number | undefined {
  const v = process.env[name];
  return v ? positiveInt(v) : undefined;
}

program
  .command("explain")
  .description("print the plans of every pipeline a script would run, without running them")
  .argument("<script>", "pipeline script (.ts or .js)")
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .action(async (script: string, _flags: unknown, cmd: Command) => {
    let printed = 0;
    runtime().explainMode = {
      print(text) {
        printed++;
        process.stdout.write(`${text}\n`);
      },
    };
    try {
      await importScript(script, cmd.args.slice(1));
    } catch (e) {
      if (printed === 0) fail(e);
      process.stderr.write(`note: the script stopped after its plans were printed (${(e as Error).message}); explain gives run() empty results\n`);
    }
    if (printed === 0) fail(new SiroccoError(`${script} did not call run() or collect(); nothing to explain`));
  });

const feed = program.command("feed").description("inspect training-feed token caches");
feed
  .command("inspect")
  .description("summary of a token cache: shards, rows, tokens, finished, fingerprint")
  .argument("<uri>", "token cache folder (or gs:// prefix)")
  .option("--parts", "list every part")
  .action(async (uri: string, flags: { parts?: boolean }) => {
    try {
      // The feed lives above exec; the CLI loads it only for this command.
      const { inspectTokenCache } = await import("../tpu-feed/inspect.js");
      process.stdout.write(await inspectTokenCache(uri, { parts: flags.parts }));
    } catch (e) {
      fail(e);
    }
  });

await program.parseAsync(process.argv);
