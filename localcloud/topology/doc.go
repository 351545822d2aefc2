// Package topology loads a scfgate project from the serverless.yml files
// that `sls deploy` deploys (Tencent Serverless Components, `component:
// scf`), so that localcloud runs exactly what would be deployed.
//
// # Layouts
//
// Load accepts either
//
//   - a single instance: one serverless.yml whose `component:` is `scf`
//     (optionally pinned, `scf@0.9.10`); or
//   - a multi-folder template project: a folder whose own serverless.yml,
//     if any, has no `component:` key and holds only app, stage, org (and
//     name), and whose immediate sub-folders each hold one serverless.yml
//     with `component: scf`. Sub-folders without a serverless file are
//     skipped. Like the components CLI, a sub-folder file without
//     `component:` or `name:` is an error, and every instance must end up
//     with the same org, app and stage ("Template instances must use the
//     same org, app & stage properties"). Children inherit app, stage and
//     org from the root file when they do not set them.
//
// In each folder the file is looked up the way the components CLI does:
// serverless.yml, serverless.yaml, serverless.json, the last one present
// winning (with a warning when there are several). A single instance
// loaded from inside a template project does not inherit from the
// project's root file, as when the CLI runs in that folder; a warning says
// when that changes app, stage or org.
//
// # Variables
//
// `${env:VAR}` is resolved the way the CLI does before it uploads
// anything: from Vars.Env, else (Load only) from the one .env file the CLI
// would load: the first of .env.<stage>, .env, ../.env.<stage>, ../.env,
// ../../.env.<stage>, ../../.env relative to the project folder, where
// stage is Vars.Stage, else the root file's literal stage, else dev.
// Process variables win over the file, as with dotenv. An env value may
// itself contain `${env:...}`; it is resolved again, up to 10 levels.
//
// An unset variable is recorded as a warning. Where it is the whole value,
// the CLI sends `undefined`, which drops the key, so the key counts as
// absent: its default applies, and an environment variable is not set at
// all. Inside a longer string it becomes the empty string (the CLI would
// insert the text "undefined").
//
// `${name}`, `${stage}`, `${app}` and `${org}` are resolved afterwards, as
// the platform does, from the top-level keys after defaults: stage is
// Vars.Stage (`--stage`) if set, else the file's, else the root file's,
// else `dev`; app defaults to name; org defaults to the account's AppId on
// the platform, which is unknown locally, so it is the empty string (with
// a warning when inputs use it). `${output:...}` and unknown names are
// left as written, with a warning; Framework v1 variables (`${self:...}`,
// `${opt:...}`, `${file:...}` and the other v1 sources) are an error, as
// in the CLI. A value that is entirely one variable is typed by its
// resolved text, so `memorySize: ${env:MEM}` with MEM=256 is the number
// 256, while string values keep the text exactly (an env value "1.50"
// stays "1.50", where a literal 1.50 is sent as "1.5", JavaScript's
// String(1.5)).
//
// # Defaults
//
// Defaults are those of the scf component and its toolkit
// (serverless-components/tencent-scf, tencent-component-toolkit): function
// name `${name}-${stage}-${app}`, namespace `default`, region
// `ap-guangzhou`, type `event`, memorySize 128, timeout 3 s, handler
// `main` for Go1 (`index.main_handler` otherwise), description "This is a
// function in <app> application", trigger qualifier `$DEFAULT`, timer name
// `timer-<name>-<stage>`, Function URL name `url-trigger` with authType
// NONE, apigw endpoint `/` ANY. The component sends initTimeout only when
// it is set, so SCF's own default applies otherwise: the spec then carries
// 65 s, SCF's init timeout, not the component document's "3".
//
// # Validation
//
// This loader is what localcloud runs, so it refuses what the components
// CLI, the component's schema or SCF would refuse. Errors are *Error
// values (joined with errors.Join when a file has several, in line
// order) naming the file, the line, the key path (e.g.
// `inputs.memorySize`) and the allowed values. Refused are: malformed
// YAML, several YAML documents, duplicate keys and custom tags (as
// js-yaml, the CLI's parser, does); unknown top-level keys; unknown inputs
// (the component silently ignores them, so a misspelt or invented key,
// like the seed's `inputs.triggers`, would deploy without effect); a
// missing name, component or inputs.src; a runtime outside the
// component's allow list; memorySize other than 64 or 128..3072 in steps
// of 128; timeout outside 1..900 s; initTimeout outside 3..300 s; function
// names not matching `^[A-Za-z][\w-]{0,58}[A-Za-z0-9]$`; environment
// variable names not matching `^[A-Za-z][A-Za-z0-9_]{1,63}$`; an
// environment over 4 KB, counted as the sum of len(KEY)+1+len(VALUE);
// unknown trigger types; timers without a 7-field cronExpression (the
// fields are only counted; parsing the cron is the timer's job) or with
// an argument over 4 KB; non-HTTP triggers on web functions; more than 5
// layers; provisioned concurrency on $LATEST; instanceConcurrencyConfig
// (request multi-concurrency: enable, dynamicEnabled, maxConcurrency) on
// an event function, with maxConcurrency outside 1..100, or enabled
// without maxConcurrency. An enabled config sets FunctionSpec.
// MaxConcurrency.
//
// Beyond that, localcloud runs only native executables from a local
// folder, so runtimes other than Go1 and CustomRuntime, code in COS
// (`src: {bucket, object}`) and image functions are refused with an
// explanation, although they deploy.
//
// Accepted with a warning: triggers localcloud does not emulate (cos,
// cmq, ckafka, cls, mps, clb); apigw triggers, which SCF no longer lets
// anyone create (since 2024-07-01); timers without `enable: true` (the
// toolkit then creates them disabled, and so does this loader); Function
// URLs with neither netConfig flag (unreachable on SCF);
// instanceConcurrencyConfig without `enable: true` (not sent, so one
// request per instance) or with `dynamicEnabled: true` (SCF would lower
// the per-instance concurrency under load; localcloud runs it as static
// concurrency at maxConcurrency, the most the cloud allows); provisionedNum
// without qualifier (every deploy publishes a version); and
// `ignoreTriggers: true`, whose events are checked, then dropped.
//
// `commandInputs.deploy` is merged into inputs (mappings recursively,
// other values replaced), as the CLI does for the deploy command. YAML
// anchors, aliases and `<<` merge keys are supported, with a bound on how
// far aliases may expand.
package topology
