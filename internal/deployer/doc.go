// Package deployer deploys a scfgate project (the serverless.yml files
// that localcloud/topology loads) to SCF through the official SDK, the
// same way to Tencent Cloud and to localcloud: for each function it
// creates or updates the function (code from a reproducible zip of its
// inputs.src folder, configuration, environment, role, type,
// InstanceConcurrencyConfig), publishes a version when anything changed,
// puts the initial provisioned concurrency on that version and waits
// until the instances are ready, then moves one alias (live by default)
// to it and reconciles the triggers (timer, Function URL). Traffic and
// provisioned concurrency therefore land on the same version, and a
// deploy causes no cold-start wave: the alias moves only once the new
// version's instances are up.
//
// The work is split in three steps, so that each can be tested alone:
//
//   - [Observe] reads what SCF has now ([Current]) through [SCFAPI];
//   - [Plan] is a pure function from desired and current state to an
//     ordered list of [Action]s, empty when the function is up to date;
//   - [Apply] carries a plan out through [SCFAPI].
//
// Assumptions, where Tencent's documents are silent or the SDK does not
// say (each is a setting or documented in docs/deploy.md):
//   - GetFunction does not report a code hash; GetFunctionAddress's
//     CodeSha256 is taken to be the SHA-256 of the uploaded zip, in hex
//     or base64. When that call is refused (an endpoint without it) or
//     answers no hash, the code is treated as changed and uploaded again.
//   - The function's Role may be reported as the role name or as a CAM
//     resource ending in the name; both compare equal to the name.
//   - After CreateFunction, UpdateFunctionCode and
//     UpdateFunctionConfiguration the function is "Creating"/"Updating"
//     until "Active"; the next call waits for Active.
//   - The provisioned concurrency a new version starts with is the
//     larger of inputs.provisionedNum and what the alias's current
//     version has (the scaler may have raised it), so moving the alias
//     never lowers the capacity serving traffic. The old version keeps
//     its instances until the scaler (scaler.Tick, alias mode) removes
//     them on its next tick.
//   - Triggers are compared on type, name, qualifier, enable, argument
//     and description (timer cron; Function URL AuthType and NetConfig).
//     A trigger that differs is deleted and created again, as SCF has no
//     general update; apigw triggers are skipped (SCF refuses new ones).
package deployer
