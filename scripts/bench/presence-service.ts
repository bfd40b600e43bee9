// One service for scripts/bench/presence.ts, from the environment like `serve`, with presence
// tracking on or off (argv[2] = "on" | "off"): off is the baseline (authentication without the
// presence work). Prints `ready <hooks url> <http url>` once listening.
import { loadConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/log/logger.ts";
import { startService } from "../../src/main.ts";

const config = loadConfig(process.env);
const service = await startService(config, createLogger("warn"), { presence: process.argv[2] !== "off" });
console.log(`ready ${service.hooksUrl} ${service.httpUrl}`);
process.on("SIGTERM", () => void service.stop().then(() => process.exit(0)));
