// Drops the Postgres databases of one test run (MG_TEST_PG_PREFIX): scripts/test.sh calls it after
// the Postgres run, for a run that was killed before its own cleanup.
import { dropRunDatabases } from "./backend.ts";

const left = await dropRunDatabases(true);
if (left.length > 0) console.log(`dropped ${left.length} test database(s) left by the run: ${left.join(", ")}`);
